import type { Embedder } from '../embedders/types.js';

/**
 * Embeds `texts` in batches of at most `batchSize` (and never more than the embedder takes), so
 * that memory stays flat however large the document.
 */
export async function embedAll(
  embedder: Embedder,
  texts: readonly string[],
  batchSize: number,
): Promise<Float32Array[]> {
  const size = Math.max(1, Math.min(batchSize, embedder.maxBatchSize));
  const vectors: Float32Array[] = [];
  for (let start = 0; start < texts.length; start += size) {
    const batch = await embedder.embed(texts.slice(start, start + size));
    for (const vector of batch) vectors.push(vector);
    // An in-process embedder resolves at once: without a turn of the event loop between batches,
    // a large document's hundreds of batches would hold it (and every reader) until the last.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return vectors;
}
