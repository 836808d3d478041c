import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Bm25Index } from './bm25.js';
import { loadCollection } from './collection.js';
import { scoreRun } from './metrics.js';

/** The judged collections shipped beside the repository (see their README). */
const IR_DATA = fileURLToPath(new URL('../../../../shared/data/ir/', import.meta.url));

async function bm25Scores(name: string) {
  const collection = await loadCollection(`${IR_DATA}${name}`);
  const index = new Bm25Index(collection.documents);
  const rankings = new Map(
    collection.queries.map((q) => [q.id, index.search(q.text, 100).map((hit) => hit.id)]),
  );
  const ids = collection.queries.map((q) => q.id);
  return { collection, scores: scoreRun(ids, rankings, collection.qrels) };
}

// The README's reference: plain BM25 gives nDCG@10 ≈ 0.36 (Cranfield) and ≈ 0.66 (MEDLINE).
describe.skipIf(!existsSync(IR_DATA))('BM25 reference on the real collections', () => {
  it('reaches nDCG@10 ≈ 0.36 on Cranfield (1,400 documents, 225 queries)', async () => {
    const { collection, scores } = await bm25Scores('cranfield');
    expect(collection.documents).toHaveLength(1400);
    expect(scores.evaluated).toBe(225);
    expect(scores.ndcg10).toBeGreaterThan(0.33);
    expect(scores.ndcg10).toBeLessThan(0.39);
  });

  it('reaches nDCG@10 ≈ 0.66 on MEDLINE (1,033 documents, 30 queries)', async () => {
    const { collection, scores } = await bm25Scores('medline');
    expect(collection.documents).toHaveLength(1033);
    expect(scores.evaluated).toBe(30);
    expect(scores.ndcg10).toBeGreaterThan(0.62);
    expect(scores.ndcg10).toBeLessThan(0.7);
  });
});
