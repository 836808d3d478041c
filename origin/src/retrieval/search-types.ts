export type SearchMode = 'hybrid' | 'fulltext' | 'vector';

export interface SearchFilter {
  source?: string[] | undefined;
  metadata?: Record<string, string | number | boolean | null> | undefined;
}

export interface SearchRequest {
  query: string;
  k: number;
  mode: SearchMode;
  /** Rerank the top candidates; ignored when no reranker is configured. */
  rerank: boolean;
  filter?: SearchFilter | undefined;
  /** The query's embedding when the caller already has it (e.g. from the answer cache lookup). */
  queryVector?: Float32Array | undefined;
  /**
   * The reader's own words, when `query` was rewritten from a follow-up: the off-topic check
   * weighs only what the reader asked, never words a rewriting model added.
   */
  askedText?: string | undefined;
}

/** Why a result ranks where it does. Ranks are 1-based; null when the list did not hold it. */
export interface Scores {
  vectorRank: number | null;
  vectorSimilarity: number | null;
  fulltextRank: number | null;
  fulltextScore: number | null;
  fused: number;
  rerank: number | null;
}

export interface SearchHit {
  chunkId: number;
  documentId: number;
  title: string;
  url: string | null;
  source: string;
  headingPath: string[];
  text: string;
  scores: Scores;
}

export interface SearchResult {
  results: SearchHit[];
  /** True when the best result does not clear the relevance threshold: say "I don't know". */
  noGoodAnswer: boolean;
  relevance: {
    /** `terms`: refused because the question's specific words occur in no retrieved passage. */
    basis: 'rerank' | 'similarity' | 'fulltext' | 'terms' | 'none';
    best: number | null;
    threshold: number | null;
  };
}

export interface SearchSettings {
  bm25K1: number;
  bm25B: number;
  rrfK: number;
  vectorWeight: number;
  fulltextWeight: number;
  /** Candidates each list contributes at least, before fusion and reranking. */
  minDepth: number;
  rerankTopN: number;
  /** Pseudo-relevance feedback: chunks of the first pass read, terms added (0 turns it off). */
  feedbackDocs: number;
  feedbackTerms: number;
  /** Share of the expanded query's weight kept by the original terms. */
  originalWeight: number;
  /** Best vector similarity below which nothing is relevant (no reranker in play). */
  minSimilarity: number;
  /** Best rerank score below which nothing is relevant. */
  minRerankScore: number;
}
