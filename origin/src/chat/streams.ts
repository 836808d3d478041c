import type { ChatStream, Listener, StreamOwner } from './stream-registry.js';

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
