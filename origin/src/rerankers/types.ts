/** A passage to rerank: `text` is the chunk's context line (title › headings), a blank line, then the chunk. */
export interface RerankCandidate {
  id: number;
  text: string;
}

/**
 * Scores passages against a query, more finely than the first-stage retrieval that found them.
 * Scores are comparable within one `score` call only: a cross-encoder returns raw logits, the
 * lexical reranker a sum that depends on the candidate set.
 */
export interface Reranker {
  /** `cross-encoder:<modelId>` or `lexical-v1`. */
  readonly id: string;
  /**
   * Candidates per model forward pass. `score` splits a longer list itself, so callers may pass
   * any number; `Infinity` when the whole list is scored at once.
   */
  readonly maxBatchSize: number;
  /** Scores each candidate against the query; higher is more relevant; same order as input. */
  score(query: string, candidates: readonly RerankCandidate[]): Promise<number[]>;
  /** Releases the model, if any. */
  close(): Promise<void>;
}
