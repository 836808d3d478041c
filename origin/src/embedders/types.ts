/**
 * Turns texts into vectors. Every implementation returns L2-normalized vectors of `dimension`
 * floats, so that cosine distance is the ranking metric everywhere.
 */
export interface Embedder {
  /** Stable identity recorded with the index, e.g. `hash-v1` or `transformers:Xenova/...`. */
  readonly id: string;
  /** Number of floats in each vector. */
  readonly dimension: number;
  /** Largest number of texts passed to one `embed` call; callers split larger inputs. */
  readonly maxBatchSize: number;
  /** Embeds a batch of at most `maxBatchSize` texts, in order. */
  embed(texts: readonly string[]): Promise<Float32Array[]>;
  /** Releases the model, if any. */
  close(): Promise<void>;
}
