import type { AnswerCache } from '../cache/answer-cache.js';
import type { Embedder } from '../embedders/types.js';
import type { Reranker } from '../rerankers/types.js';
import type { Metrics } from './metrics.js';

/**
 * The embedder, timing each call and recording its batch size. A decorator rather than code in
 * each embedder, so that every implementation (and any a test injects) is measured alike.
 */
export function instrumentEmbedder(embedder: Embedder, metrics: Metrics): Embedder {
  return {
    get id() {
      return embedder.id;
    },
    get dimension() {
      return embedder.dimension;
    },
    get maxBatchSize() {
      return embedder.maxBatchSize;
    },
    async embed(texts) {
      metrics.embeddingBatchSize.observe(texts.length);
      const stop = metrics.embeddingDuration.startTimer();
      try {
        return await embedder.embed(texts);
      } finally {
        stop();
      }
    },
    close: () => embedder.close(),
  };
}

/** The reranker, timing each `score` and recording how many candidates it scored. */
export function instrumentReranker(reranker: Reranker, metrics: Metrics): Reranker {
  return {
    get id() {
      return reranker.id;
    },
    get maxBatchSize() {
      return reranker.maxBatchSize;
    },
    async score(query, candidates) {
      metrics.rerankCandidates.observe(candidates.length);
      const stop = metrics.rerankDuration.startTimer();
      try {
        return await reranker.score(query, candidates);
      } finally {
        stop();
      }
    },
    close: () => reranker.close(),
  };
}

/**
 * The answer cache, counting lookups by tier. The chat turn asks the exact tier first and the
 * semantic tier only after an exact miss, so a semantic miss is the lookup's miss.
 */
export function instrumentAnswerCache(cache: AnswerCache, metrics: Metrics): AnswerCache {
  return {
    get kind() {
      return cache.kind;
    },
    async getExact(siteId, contentVersion, question) {
      const hit = await cache.getExact(siteId, contentVersion, question);
      if (hit !== null) metrics.cacheLookups.inc({ tier: 'exact' });
      return hit;
    },
    async getSimilar(siteId, contentVersion, embedding, threshold) {
      const hit = await cache.getSimilar(siteId, contentVersion, embedding, threshold);
      metrics.cacheLookups.inc({ tier: hit === null ? 'miss' : 'semantic' });
      return hit;
    },
    put: (siteId, contentVersion, question, embedding, answer) =>
      cache.put(siteId, contentVersion, question, embedding, answer),
  };
}
