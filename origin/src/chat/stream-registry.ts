import { randomBytes } from 'node:crypto';
import { AppError } from '../errors.js';

export type ChatEventName = 'meta' | 'sources' | 'token' | 'done' | 'error';

/** One Server-Sent Event of a chat answer; `id` is `<stream id>.<sequence>`. */
export interface ChatEvent {
  id: string;
  event: ChatEventName;
  data: unknown;
}

type Listener = (event: ChatEvent | null) => void;

export interface StreamLimits {
  /** Streams kept at once (running, or finished and waiting for a resume). */
  maxStreams: number;
  /** Events buffered per stream for resume; past it the stream still runs, resume stops working. */
  maxEventsPerStream: number;
  /** How long a finished stream stays resumable. */
  retentionMs: number;
  /** How long a running stream waits for a reader to come back before it is cancelled. */
  detachGraceMs: number;
}

/**
 * A chat answer in progress, independent of the HTTP response that asked for it: its events are
 * buffered so that a reader who reconnects with `Last-Event-ID` gets what came after, and when
 * no reader is left for `detachGraceMs` the answer is aborted (`signal`), so that a closed tab
 * stops the LLM call within the grace period.
 */
export class ChatStream {
  readonly id = randomBytes(9).toString('base64url');
  private readonly controller = new AbortController();
  private readonly events: ChatEvent[] = [];
  private readonly listeners = new Set<Listener>();
  private sequence = 0;
  private graceTimer: NodeJS.Timeout | undefined;
  finished = false;

  constructor(
    private readonly limits: StreamLimits,
    private readonly onRetired: (stream: ChatStream) => void,
  ) {}

  /** Aborted when every reader has gone for the grace period. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  emit(event: ChatEventName, data: unknown): void {
    if (this.finished) return;
    this.sequence += 1;
    const entry: ChatEvent = { id: `${this.id}.${this.sequence}`, event, data };
    if (this.events.length < this.limits.maxEventsPerStream) this.events.push(entry);
    for (const listener of this.listeners) listener(entry);
  }

  /** Ends the stream: readers are closed, the buffer stays resumable for `retentionMs`. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.graceTimer);
    for (const listener of this.listeners) listener(null);
    this.listeners.clear();
    setTimeout(() => this.onRetired(this), this.limits.retentionMs).unref();
  }

  /**
   * Sends every buffered event after `afterSequence` to `listener`, then the live ones; `null`
   * means the stream ended. Returns the function that detaches the reader.
   */
  subscribe(afterSequence: number, listener: Listener): () => void {
    if (afterSequence > 0 && this.events.length >= this.limits.maxEventsPerStream) {
      throw new AppError('conflict', 'this answer is too long to resume; ask again');
    }
    for (const event of this.events) {
      if (Number(event.id.slice(this.id.length + 1)) > afterSequence) listener(event);
    }
    if (this.finished) {
      listener(null);
      return () => {};
    }
    clearTimeout(this.graceTimer);
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && !this.finished) {
        this.graceTimer = setTimeout(() => this.controller.abort(), this.limits.detachGraceMs);
      }
    };
  }
}

/** The chat streams of this process, bounded. */
export class StreamRegistry {
  private readonly streams = new Map<string, ChatStream>();

  constructor(private readonly limits: StreamLimits) {}

  get size(): number {
    return this.streams.size;
  }

  create(): ChatStream {
    if (this.streams.size >= this.limits.maxStreams) {
      throw new AppError('unavailable', 'too many answers in progress; try again shortly', {
        headers: { 'Retry-After': '5' },
      });
    }
    const stream = new ChatStream(this.limits, (retired) => this.streams.delete(retired.id));
    this.streams.set(stream.id, stream);
    return stream;
  }

  /** The stream and sequence a `Last-Event-ID` names, if it is still here. */
  resume(lastEventId: string): { stream: ChatStream; after: number } | null {
    const match = /^([A-Za-z0-9_-]{12})\.(\d{1,9})$/.exec(lastEventId.trim());
    if (match === null) return null;
    const stream = this.streams.get(match[1]!);
    return stream === undefined ? null : { stream, after: Number(match[2]) };
  }
}

/** One event in the text/event-stream format. */
export function sseFrame(event: ChatEvent): string {
  return `id: ${event.id}\nevent: ${event.event}\ndata: ${JSON.stringify(event.data)}\n\n`;
}
