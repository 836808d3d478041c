import type { DoneEvent } from '../../../contract/stream.js';
import type { Metrics } from '../observability/metrics.js';
import type { TurnSource } from './sources.js';
import type { ChatStream } from './stream-registry.js';

/**
 * What the reader has been sent of one turn, which is what gets stored, whole or partial: the
 * answer's text so far, the sources it was written from, what it cited, and how the answer
 * cache treated the question.
 */
export class Transcript {
  readonly started = performance.now();
  answer = '';
  tokens = 0;
  ttftMs: number | null = null;
  /** The sources the answer is written from (none for an answer replayed from the cache). */
  sources: TurnSource[] = [];
  cited: number[] = [];
  cache: 'hit' | 'miss' | 'bypass' = 'bypass';
  /** A first question's embedding: looked up in the cache, reused by the search, stored. */
  questionEmbedding: Float32Array | undefined;

  constructor(
    private readonly stream: ChatStream,
    private readonly metrics?: Pick<Metrics, 'timeToFirstToken'>,
  ) {}

  /** Sends a piece of the answer; the first one sets the time to first token. */
  say(text: string): void {
    if (text === '') return;
    if (this.tokens === 0) {
      this.ttftMs = this.elapsedMs();
      this.metrics?.timeToFirstToken.observe({ cache: this.cache }, this.ttftMs / 1000);
    }
    this.answer += text;
    this.tokens += 1;
    this.stream.emit('token', { text });
  }

  /** The `done` event's data as the answer finishes (before it is stored). */
  done(finishReason: DoneEvent['finishReason']): DoneEvent {
    return { finishReason, latencyMs: this.elapsedMs(), tokens: this.tokens, cited: this.cited };
  }

  elapsedMs(): number {
    return Math.round(performance.now() - this.started);
  }
}
