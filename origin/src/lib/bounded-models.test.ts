import { describe, expect, it } from 'vitest';
import { HashEmbedder } from '../embedders/hash.js';
import { LexicalReranker } from '../rerankers/lexical.js';
import type { RerankCandidate, Reranker } from '../rerankers/types.js';
import { boundedEmbedder, boundedReranker } from './bounded-models.js';

/** The lexical reranker, with each call held open until the test lets it go. */
class GatedReranker implements Reranker {
  private readonly inner = new LexicalReranker();
  readonly id = this.inner.id;
  readonly maxBatchSize = this.inner.maxBatchSize;
  private readonly gates: Array<() => void> = [];
  running = 0;

  async score(query: string, candidates: readonly RerankCandidate[]): Promise<number[]> {
    this.running += 1;
    await new Promise<void>((resolve) => this.gates.push(resolve));
    this.running -= 1;
    return this.inner.score(query, candidates);
  }

  releaseAll(): void {
    for (const gate of this.gates.splice(0)) gate();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

const CANDIDATES = [
  { id: 1, text: 'Backups\n\nThe nightly backup job runs pg_dump.' },
  { id: 2, text: 'Widget\n\nEmbed the widget with one script tag.' },
];

describe('boundedReranker', () => {
  it('scores as the wrapped reranker does, one call at a time, and refuses past the waiting room', async () => {
    const inner = new GatedReranker();
    const reranker = boundedReranker(inner, { concurrency: 1, maxWaiting: 1 });
    expect(reranker.id).toBe(inner.id);
    const first = reranker.score('backup job', CANDIDATES);
    const second = reranker.score('widget', CANDIDATES);
    await expect(reranker.score('third', CANDIDATES)).rejects.toMatchObject({
      code: 'overloaded',
      status: 503,
    });
    expect(inner.running).toBe(1);
    expect(reranker.queue.depth).toEqual({ running: 1, waiting: 1 });
    inner.releaseAll();
    const scores = await first;
    await new Promise((resolve) => setImmediate(resolve));
    inner.releaseAll();
    await second;
    expect(scores).toEqual(await new LexicalReranker().score('backup job', CANDIDATES));
    expect(scores[0]).toBeGreaterThan(scores[1]!);
    expect(reranker.queue.depth).toEqual({ running: 0, waiting: 0 });
  });
});

describe('boundedEmbedder', () => {
  it('keeps the identity and vectors of the wrapped embedder', async () => {
    const inner = new HashEmbedder({ dimension: 64 });
    const embedder = boundedEmbedder(inner, { concurrency: 2, maxWaiting: 4 });
    expect([embedder.id, embedder.dimension, embedder.maxBatchSize]).toEqual([
      inner.id,
      inner.dimension,
      inner.maxBatchSize,
    ]);
    expect(await embedder.embed(['a backup'])).toEqual(await inner.embed(['a backup']));
  });

  it('lets at most concurrency + maxWaiting calls in at once and refuses the rest', async () => {
    const embedder = boundedEmbedder(new HashEmbedder({ dimension: 16 }), {
      concurrency: 2,
      maxWaiting: 3,
    });
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => embedder.embed([`text ${i}`])),
    );
    const refused = results.filter((r) => r.status === 'rejected');
    expect(results.length - refused.length).toBe(5);
    for (const r of refused) expect(r.reason).toMatchObject({ code: 'overloaded' });
  });
});
