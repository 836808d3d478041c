import { randomBytes } from 'node:crypto';
import type { ChatEventData, ChatEventName } from '../../../contract/stream.js';
import { AppError } from '../errors.js';

export type { ChatEventName };

/** One Server-Sent Event of a chat answer (see the contract); `id` is `<stream id>.<sequence>`. */
export interface ChatEvent {
  id: string;
  event: ChatEventName;
  data: ChatEventData;
  /** Milliseconds an EventSource should wait before it reconnects (the SSE `retry:` field). */
  retry?: number;
}

type Listener = (event: ChatEvent | null) => void;

export interface StreamLimits {
  /** Answers being produced at once; past it a new chat is a 503. */
  maxStreams: number;
  /**
   * Finished answers kept for a resume; past it the oldest is dropped (a busy minute costs late
   * resumes, never new answers).
   */
  maxRetained: number;
  /** Events buffered per stream for resume; past it the stream still runs, resume stops working. */
  maxEventsPerStream: number;
  /** How long a finished stream stays resumable (at most; see `maxRetained`). */
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
  private interrupted = false;
  private settle: () => void = () => {};
  /** Resolves when the answer's work has ended (`finish`), whatever its readers saw. */
  readonly settled = new Promise<void>((resolve) => {
    this.settle = resolve;
  });
  finished = false;

  constructor(
    private readonly limits: StreamLimits,
    /** Whose answer this is: a resume must come from the same site (and conversation). */
    readonly owner: StreamOwner,
    private readonly onFinished: (stream: ChatStream) => void,
  ) {}

  /** Aborted when every reader has gone for the grace period. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  emit<E extends ChatEventName>(event: E, data: ChatEventData<E>, retry?: number): void {
    if (this.finished || this.interrupted) return;
    this.sequence += 1;
    const entry: ChatEvent = { id: `${this.id}.${this.sequence}`, event, data };
    if (retry !== undefined) entry.retry = retry;
    if (this.events.length < this.limits.maxEventsPerStream) this.events.push(entry);
    for (const listener of this.listeners) listener(entry);
  }

  /** Ends the stream: readers are closed, the buffer stays resumable for `retentionMs`. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.graceTimer);
    this.closeReaders();
    this.onFinished(this);
    this.settle();
  }

  /**
   * Ends the stream for its readers now, with a last `error` event carrying `retry`, and aborts
   * the answer; the answer still stores what was said before it calls `finish`.
   */
  interrupt(data: ChatEventData<'error'>, retry: number): void {
    if (this.finished || this.interrupted) return;
    this.emit('error', data, retry);
    this.interrupted = true;
    this.closeReaders();
    this.controller.abort();
  }

  private closeReaders(): void {
    for (const listener of this.listeners) listener(null);
    this.listeners.clear();
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
    if (this.finished || this.interrupted) {
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

/** The site and conversation an answer belongs to. */
export interface StreamOwner {
  siteId: number;
  conversationId: string;
}

/**
 * The chat streams of this process, bounded: running answers and finished ones kept for a
 * resume are counted apart, and the finished ones make room first.
 */
export class StreamRegistry {
  private readonly streams = new Map<string, ChatStream>();
  /** Finished streams still resumable, oldest first (a Map keeps insertion order). */
  private readonly retained = new Map<string, NodeJS.Timeout>();

  private closing = false;

  constructor(private readonly limits: StreamLimits) {}

  /**
   * For a graceful shutdown: refuses new streams, tells every running one's readers to reconnect
   * after `retryAfterMs` (an `error` event `shutting_down` with `retry:` and `retryAfterMs`), aborts the answers, and
   * waits at most `timeoutMs` for them to store what they said. Returns how many were told.
   */
  async shutdown(retryAfterMs: number, timeoutMs: number): Promise<number> {
    this.closing = true;
    const running = [...this.streams.values()].filter((stream) => !stream.finished);
    for (const stream of running) {
      stream.interrupt(
        {
          code: 'shutting_down',
          message: 'The server is restarting; ask again in a moment.',
          retryable: true,
          retryAfterMs,
        },
        retryAfterMs,
      );
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(running.map((stream) => stream.settled)),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    return running.length;
  }

  /** Streams held: running and retained. */
  get size(): number {
    return this.streams.size;
  }

  /** Answers being produced now. */
  get running(): number {
    return this.streams.size - this.retained.size;
  }

  /** Throws what `create` would, without creating: checked before a request spends any budget. */
  ensureRoom(): void {
    if (this.closing) {
      throw new AppError('unavailable', 'the server is restarting; try again shortly', {
        headers: { 'Retry-After': '2' },
      });
    }
    if (this.running >= this.limits.maxStreams) {
      throw new AppError('overloaded', 'too many answers in progress; try again shortly', {
        headers: { 'Retry-After': '5' },
      });
    }
  }

  create(owner: StreamOwner): ChatStream {
    this.ensureRoom();
    const stream = new ChatStream(this.limits, owner, (finished) => this.retain(finished));
    this.streams.set(stream.id, stream);
    return stream;
  }

  private retain(stream: ChatStream): void {
    const timer = setTimeout(() => this.drop(stream.id), this.limits.retentionMs);
    timer.unref();
    this.retained.set(stream.id, timer);
    while (this.retained.size > this.limits.maxRetained) {
      this.drop(this.retained.keys().next().value!);
    }
  }

  private drop(id: string): void {
    clearTimeout(this.retained.get(id));
    this.retained.delete(id);
    this.streams.delete(id);
  }

  /**
   * Whether an answer of this site's conversation is still running here: a conversation whose
   * first exchange is still being answered has no row yet, but its follow-up is legitimate. A
   * finished answer has been stored (or its conversation deleted since), so it does not count.
   */
  holds(siteId: number, conversationId: string): boolean {
    for (const [id, stream] of this.streams) {
      if (this.retained.has(id)) continue;
      if (stream.owner.siteId === siteId && stream.owner.conversationId === conversationId)
        return true;
    }
    return false;
  }

  /**
   * The stream and sequence a `Last-Event-ID` names, if it is still here and belongs to `site`
   * (and to `conversationId`, when the resume names one). Another site's stream is "unknown",
   * exactly like a stream that never existed.
   */
  resume(
    lastEventId: string,
    siteId: number,
    conversationId?: string,
  ): { stream: ChatStream; after: number } | null {
    const match = /^([A-Za-z0-9_-]{12})\.(\d{1,9})$/.exec(lastEventId.trim());
    if (match === null) return null;
    const stream = this.streams.get(match[1]!);
    if (stream === undefined || stream.owner.siteId !== siteId) return null;
    if (conversationId !== undefined && stream.owner.conversationId !== conversationId) return null;
    return { stream, after: Number(match[2]) };
  }
}

/** One event in the text/event-stream format. */
export function sseFrame(event: ChatEvent): string {
  const retry = event.retry === undefined ? '' : `retry: ${event.retry}\n`;
  return `${retry}id: ${event.id}\nevent: ${event.event}\ndata: ${JSON.stringify(event.data)}\n\n`;
}
