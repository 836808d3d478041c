import type { Embedder } from '../embedders/types.js';
import type { Reranker } from '../rerankers/types.js';
import { BoundedQueue } from './bounded-queue.js';

/**
 * The embedder behind a bounded queue: at most `concurrency` `embed` calls run at once and at
 * most `maxWaiting` wait; the next is refused with 503 `overloaded`. Every caller (search, chat,
 * ingestion) goes through it, so a flood of questions cannot pile up model work without bound.
 * Batches stay as the caller sized them (`embedAll` keeps them under `maxBatchSize`).
 */
export function boundedEmbedder(
  embedder: Embedder,
  limits: { concurrency: number; maxWaiting: number },
): Embedder & { readonly queue: BoundedQueue } {
  const queue = new BoundedQueue('embedding', limits.concurrency, limits.maxWaiting);
  return {
    id: embedder.id,
    dimension: embedder.dimension,
    maxBatchSize: embedder.maxBatchSize,
    queue,
    embed: (texts) => queue.run(() => embedder.embed(texts)),
    close: () => embedder.close(),
  };
}

/** The reranker behind a bounded queue, as `boundedEmbedder` does for the embedder. */
export function boundedReranker(
  reranker: Reranker,
  limits: { concurrency: number; maxWaiting: number },
): Reranker & { readonly queue: BoundedQueue } {
  const queue = new BoundedQueue('reranking', limits.concurrency, limits.maxWaiting);
  return {
    id: reranker.id,
    maxBatchSize: reranker.maxBatchSize,
    queue,
    score: (query, candidates) => queue.run(() => reranker.score(query, candidates)),
    close: () => reranker.close(),
  };
}
