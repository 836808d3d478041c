import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import type { Embedder } from '../embedders/types.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { Reranker } from '../rerankers/types.js';
import { LexicalIndexes } from '../retrieval/lexical-indexes.js';
import { SearchService } from '../retrieval/search.js';

/** The configuration search takes. */
export type SearchConfig = Pick<
  Config,
  | 'SEARCH_INDEX_MEMORY_MB'
  | 'BM25_K1'
  | 'BM25_B'
  | 'SEARCH_RRF_K'
  | 'SEARCH_VECTOR_WEIGHT'
  | 'SEARCH_FULLTEXT_WEIGHT'
  | 'SEARCH_MIN_DEPTH'
  | 'RERANK_TOP_N'
  | 'SEARCH_FEEDBACK_DOCS'
  | 'SEARCH_FEEDBACK_TERMS'
  | 'SEARCH_FEEDBACK_ORIGINAL_WEIGHT'
  | 'SEARCH_MIN_SIMILARITY'
  | 'RERANK_MIN_SCORE'
>;

/**
 * The search service over the site's in-memory postings; where a setting is not given, its
 * default follows the embedder (`embedderId`, the bare model's id).
 */
export function buildSearch(
  config: SearchConfig,
  deps: {
    db: Database;
    embedder: Embedder;
    embedderId: string;
    reranker: Reranker | null;
    logger: Logger;
    metrics: Metrics;
  },
): SearchService {
  const { db, logger, embedderId } = deps;
  return new SearchService({
    metrics: deps.metrics,
    db,
    lexicalIndexes: new LexicalIndexes({
      pool: db.pool,
      maxBytes: config.SEARCH_INDEX_MEMORY_MB * 1024 * 1024,
      onError: (error, siteId) =>
        logger.warn({ err: error, siteId }, 'in-memory postings not loaded; ranking in SQL'),
    }),
    embedder: deps.embedder,
    reranker: deps.reranker,
    settings: {
      bm25K1: config.BM25_K1,
      bm25B: config.BM25_B,
      rrfK: config.SEARCH_RRF_K,
      vectorWeight: config.SEARCH_VECTOR_WEIGHT ?? defaultVectorWeight(embedderId),
      fulltextWeight: config.SEARCH_FULLTEXT_WEIGHT,
      minDepth: config.SEARCH_MIN_DEPTH,
      rerankTopN: config.RERANK_TOP_N,
      feedbackDocs: config.SEARCH_FEEDBACK_DOCS,
      feedbackTerms: config.SEARCH_FEEDBACK_TERMS,
      originalWeight: config.SEARCH_FEEDBACK_ORIGINAL_WEIGHT,
      minSimilarity: config.SEARCH_MIN_SIMILARITY ?? defaultMinSimilarity(embedderId),
      minRerankScore: config.RERANK_MIN_SCORE,
    },
  });
}

/**
 * Cosine similarity below which a best match is "nothing relevant", by embedder: the offline
 * hash embedder's similarities run far lower than a sentence model's.
 */
function defaultMinSimilarity(embedderId: string): number {
  return embedderId.startsWith('hash') ? 0.12 : 0.3;
}

/**
 * Weight of the vector list in reciprocal rank fusion, by embedder: it follows how good the
 * embedder's own ranking is. The offline hash embedder ranks at 0.64× full-text's nDCG@10 on
 * Cranfield and 0.69× on MEDLINE, so its list only breaks near ties of the lexical ranking
 * (0.1: hybrid then stays at full-text's level on both; 0.2 cost 3.4% on Cranfield, see
 * BENCHMARKS.md); a sentence model is an equal partner.
 */
function defaultVectorWeight(embedderId: string): number {
  return embedderId.startsWith('hash') ? 0.1 : 1;
}
