import { randomBytes } from 'node:crypto';
import type { ChatEventData, ChatEventName } from '../../../contract/stream.js';
import { AppError } from '../errors.js';
import type { ExchangeFence } from '../store/conversations.js';

export type { ChatEventName };

/** One Server-Sent Event of a chat answer (see the contract); `id` is `<stream id>.<sequence>`. */
export interface ChatEvent {
  id: string;
  event: ChatEventName;
  data: ChatEventData;
  /** Milliseconds an EventSource should wait before it reconnects (the SSE `retry:` field). */
  retry?: number;
}

/** Receives the events of a stream in order; `null` means the stream ended. */
export type Listener = (event: ChatEvent | null) => void;

/** What a shared backend (Redis) adds to a stream produced here; none for the embedded default. */
export interface StreamHooks {
  /** The stream's id, when it continues one started elsewhere (a takeover). */
  id?: string;
  /** The last sequence already sent under that id: the next event gets the one after it. */
  startSequence?: number;
  /**
   * Sees every event as it is emitted, then `null` when the stream finishes. When it returns a
   * promise (a write to Redis), readers here get the event only once it settles: a reader can
   * then never have seen an event that another origin could not replay.
   */
  tap?: (event: ChatEvent | null) => Promise<void> | undefined;
  /** Asked when the grace period ends with no reader here: true keeps the answer running. */
  wanted?: () => Promise<boolean>;
  /**
   * The fencing token the answer's exchange is stored under, or `null` when another origin took
   * the answer over (that one stores it; this one must not store a second). None: unfenced.
   */
  fence?: () => Promise<ExchangeFence | null>;
  /** Rewrites or drops an event before it is sent (a takeover skips what was sent already). */
  rewrite?: (
    event: ChatEventName,
    data: unknown,
  ) => { event: ChatEventName; data: unknown } | 'skip' | 'diverged';
}

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
  readonly id: string;
  private readonly controller = new AbortController();
  private readonly events: ChatEvent[] = [];
  private readonly listeners = new Set<Listener>();
  private sequence = 0;
  private graceTimer: NodeJS.Timeout | undefined;
  private interrupted = false;
  /** Another origin continues the answer (`abandon`): this copy must not be resumed or stored. */
  private abandoned = false;
  /** Readers were told the end (`null`); later subscribers get the buffer and the end at once. */
  private closed = false;
  /** Deliveries waiting for their `tap` write, in order; none without a promise-returning tap. */
  private chain: Promise<void> | undefined;
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
    private readonly hooks: StreamHooks = {},
  ) {
    this.id = hooks.id ?? randomBytes(9).toString('base64url');
    this.sequence = hooks.startSequence ?? 0;
  }

  /**
   * How the answer's exchange may be stored: `undefined` unfenced (this process alone holds the
   * stream), a fencing token, or `null` when another origin took the answer over.
   */
  async fence(): Promise<ExchangeFence | null | undefined> {
    if (this.abandoned) return null;
    return this.hooks.fence?.();
  }

  /** Whether another origin took the answer over (see `abandon`). */
  get isAbandoned(): boolean {
    return this.abandoned;
  }

  /** Aborted when every reader has gone for the grace period. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  emit<E extends ChatEventName>(event: E, data: ChatEventData<E>, retry?: number): void {
    if (this.finished || this.interrupted) return;
    const rewritten = this.hooks.rewrite?.(event, data) ?? { event, data };
    if (rewritten === 'skip') return;
    if (rewritten === 'diverged') {
      this.interrupt(
        {
          code: 'unavailable',
          message: 'The answer was interrupted; please ask again.',
          retryable: true,
        },
        1000,
      );
      return;
    }
    this.sequence += 1;
    const entry: ChatEvent = {
      id: `${this.id}.${this.sequence}`,
      event: rewritten.event,
      // A rewrite only cuts a token's text or passes the event on: the data keeps its shape.
      data: rewritten.data as ChatEventData,
    };
    if (retry !== undefined) entry.retry = retry;
    this.afterTap(entry, () => {
      if (this.events.length < this.limits.maxEventsPerStream) this.events.push(entry);
      for (const listener of this.listeners) listener(entry);
    });
  }

  /** Runs `deliver` once the tap has seen `event` (at once, without a write to wait for). */
  private afterTap(event: ChatEvent | null, deliver: () => void): void {
    const written = this.hooks.tap?.(event);
    if (written !== undefined) this.chain = Promise.all([this.chain, written]).then(() => {});
    if (this.chain === undefined) deliver();
    else this.chain = this.chain.then(deliver);
  }

  /** Ends the stream: readers are closed, the buffer stays resumable for `retentionMs`. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.graceTimer);
    this.afterTap(null, () => this.closeReaders());
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
    if (this.chain === undefined) this.closeReaders();
    else this.chain = this.chain.then(() => this.closeReaders());
    this.controller.abort();
  }

  /**
   * Ends the stream for its readers here without a last event, and aborts the answer: another
   * origin continues it (it took the answer over), so a reader's reconnect resumes there.
   */
  abandon(): void {
    if (this.finished || this.interrupted) return;
    this.interrupted = true;
    this.abandoned = true;
    this.closeReaders();
    this.controller.abort();
  }

  private closeReaders(): void {
    this.closed = true;
    for (const listener of this.listeners) listener(null);
    this.listeners.clear();
  }

  /**
   * Sends every buffered event after `afterSequence` to `listener`, then the live ones; `null`
   * means the stream ended. Returns the function that detaches the reader.
   */
  subscribe(afterSequence: number, listener: Listener): () => void {
    if (!this.resumableAfter(afterSequence)) {
      throw new AppError('conflict', 'this answer is too long to resume; ask again');
    }
    for (const event of this.events) {
      if (Number(event.id.slice(this.id.length + 1)) > afterSequence) listener(event);
    }
    if (this.closed) {
      listener(null);
      return () => {};
    }
    clearTimeout(this.graceTimer);
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && !this.finished) this.armGrace();
    };
  }

  /** Whether a reader may start after `afterSequence`: the buffer must hold what follows it. */
  resumableAfter(afterSequence: number): boolean {
    return afterSequence === 0 || this.events.length < this.limits.maxEventsPerStream;
  }

  /** Aborts the answer once the grace period passes with no reader, here or (`wanted`) elsewhere. */
  private armGrace(): void {
    this.graceTimer = setTimeout(async () => {
      const wanted = (await this.hooks.wanted?.().catch(() => false)) ?? false;
      if (this.listeners.size > 0 || this.finished) return;
      if (wanted) this.armGrace();
      else this.controller.abort();
    }, this.limits.detachGraceMs);
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
export class StreamRegistry implements ChatStreams {
  private readonly streams = new Map<string, ChatStream>();
  /** Finished streams still resumable, oldest first (a Map keeps insertion order). */
  private readonly retained = new Map<string, NodeJS.Timeout>();

  private closing = false;
  /** Only this process can resume its streams. */
  readonly shared = false;

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

  create(owner: StreamOwner, _question?: string, hooks?: StreamHooks): ChatStream {
    this.ensureRoom();
    const stream = new ChatStream(this.limits, owner, (finished) => this.retain(finished), hooks);
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
  async holds(siteId: number, conversationId: string): Promise<boolean> {
    return this.holdsHere(siteId, conversationId);
  }

  /** `holds`, for this process only and at once. */
  holdsHere(siteId: number, conversationId: string): boolean {
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
  async resume(
    lastEventId: string,
    siteId: number,
    conversationId?: string,
  ): Promise<ResumedStream | null> {
    return this.resumeHere(lastEventId, siteId, conversationId);
  }

  /** `resume`, for a stream held by this process only; throws `conflict` past the buffer. */
  resumeHere(lastEventId: string, siteId: number, conversationId?: string): ResumedStream | null {
    const id = parseEventId(lastEventId);
    if (id === null) return null;
    const stream = this.streams.get(id.stream);
    // An abandoned copy's buffer may end with an event the origin continuing it never sent.
    if (stream === undefined || stream.isAbandoned || stream.owner.siteId !== siteId) return null;
    if (conversationId !== undefined && stream.owner.conversationId !== conversationId) return null;
    if (!stream.resumableAfter(id.sequence)) {
      throw new AppError('conflict', 'this answer is too long to resume; ask again');
    }
    return { subscribe: (listener) => stream.subscribe(id.sequence, listener) };
  }
}

/** The stream id and sequence of an event id (`<12 base64url characters>.<sequence>`), or null. */
export function parseEventId(eventId: string): { stream: string; sequence: number } | null {
  const match = /^([A-Za-z0-9_-]{12})\.(\d{1,9})$/.exec(eventId.trim());
  if (match === null) return null;
  return { stream: match[1]!, sequence: Number(match[2]) };
}

/** One event in the text/event-stream format. */
export function sseFrame(event: ChatEvent): string {
  const retry = event.retry === undefined ? '' : `retry: ${event.retry}\n`;
  return `${retry}id: ${event.id}\nevent: ${event.event}\ndata: ${JSON.stringify(event.data)}\n\n`;
}

/**
 * A stream found by `resume`: `subscribe` sends the events after the resumed one, then the live
 * ones, then `null` at the end, and returns the function that detaches the reader.
 */
export interface ResumedStream {
  subscribe(listener: Listener): () => void;
}

/**
 * Starts the answer of `stream` again on this origin, after the origin producing it died: the
 * stream skips what was sent already (see `Continuation`). Given by the chat route, which knows
 * how to run a turn; the streams never import the turn.
 */
export type RestartAnswer = (stream: ChatStream, question: string) => void;

/**
 * The chat answers in progress and just finished, bounded, that a reader can follow and resume
 * with `Last-Event-ID`. Two implementations share one contract (`streams.contract.ts`): the
 * in-process `StreamRegistry` (the embedded default: only the producing origin can resume) and
 * `RedisStreamRegistry` (every origin sharing a Redis can, and takes over an orphaned answer).
 */
export interface ChatStreams {
  /** True when every origin sharing the backend (Redis) can resume any stream, not only its own. */
  readonly shared: boolean;
  /** Throws what `create` would (restarting, too many answers), without creating. */
  ensureRoom(): void;
  /** A new answer of `owner`; `question` lets another origin take it over if this one dies. */
  create(owner: StreamOwner, question: string): ChatStream;
  /**
   * The stream a `Last-Event-ID` names, if it is still resumable and belongs to `siteId` (and
   * to `conversationId` when given); null otherwise, exactly as for an id that never existed.
   * Throws `conflict` when what follows that event is no longer kept.
   */
  resume(
    lastEventId: string,
    siteId: number,
    conversationId?: string,
    restart?: RestartAnswer,
  ): Promise<ResumedStream | null>;
  /** Whether an answer of this conversation is still being produced (by any origin sharing it). */
  holds(siteId: number, conversationId: string): Promise<boolean>;
  /** Graceful shutdown: refuses new answers, tells running ones' readers to come back later. */
  shutdown(retryAfterMs: number, timeoutMs: number): Promise<number>;
  /** Streams held by this process: running and retained. */
  readonly size: number;
  /** Answers this process is producing now. */
  readonly running: number;
  /** Releases connections (Redis); the in-process registry has none. */
  close?(): Promise<void>;
}
