import { describe, expect, it } from 'vitest';
import { averagePrecision, ndcgAt, recallAt, reciprocalRank, scoreRun } from './metrics.js';

// Three relevant documents with graded gains, one judged not relevant.
const judged = new Map([
  ['a', 3],
  ['b', 2],
  ['c', 1],
  ['x', 0],
]);
// Relevant documents at ranks 2 (a) and 4 (c); b is never found.
const ranking = ['x', 'a', 'y', 'c'];

describe('nDCG@k', () => {
  it('divides the DCG of the ranking by the DCG of all relevant judged documents, best first', () => {
    const dcg = 3 / Math.log2(3) + 1 / Math.log2(5);
    const ideal = 3 / Math.log2(2) + 2 / Math.log2(3) + 1 / Math.log2(4);
    expect(ndcgAt(ranking, judged, 10)).toBeCloseTo(dcg / ideal, 12);
    expect(ndcgAt(ranking, judged, 10)).toBeCloseTo(0.48793, 5);
  });

  it('is 1 for the ideal ranking and ignores what lies beyond k', () => {
    expect(ndcgAt(['a', 'b', 'c'], judged, 10)).toBe(1);
    const late = [...Array.from({ length: 10 }, (_, i) => `n${i}`), 'a'];
    expect(ndcgAt(late, judged, 10)).toBe(0);
  });

  it('takes the ideal from the first k judged documents only', () => {
    // Ideal@1 = 3 (a); the ranking's first document is b (gain 2).
    expect(ndcgAt(['b'], judged, 1)).toBeCloseTo(2 / 3, 12);
  });
});

describe('binary measures', () => {
  it('average precision sums precision at each relevant rank over all relevant documents', () => {
    // (1/2 + 2/4) / 3
    expect(averagePrecision(ranking, judged)).toBeCloseTo(1 / 3, 12);
  });

  it('recall@k is the share of relevant documents in the first k', () => {
    expect(recallAt(ranking, judged, 100)).toBeCloseTo(2 / 3, 12);
    expect(recallAt(ranking, judged, 2)).toBeCloseTo(1 / 3, 12);
  });

  it('reciprocal rank is 1 / the rank of the first relevant document, 0 without one', () => {
    expect(reciprocalRank(ranking, judged)).toBe(0.5);
    expect(reciprocalRank(['x', 'y'], judged)).toBe(0);
  });

  it('counts a document ranked twice once, at its first rank', () => {
    expect(averagePrecision(['a', 'a', 'b'], judged)).toBeCloseTo((1 + 1) / 3, 12);
    expect(reciprocalRank(['y', 'y', 'a'], judged)).toBe(0.5);
  });
});

describe('scoreRun', () => {
  it('averages over queries with a relevant judgment, skips the others, scores a missing run 0', () => {
    const qrels = new Map([
      ['q1', judged],
      ['q2', new Map([['a', 0]])],
      ['q3', new Map([['z', 1]])],
    ]);
    const scores = scoreRun(['q1', 'q2', 'q3', 'q4'], new Map([['q1', ranking]]), qrels);
    expect(scores.evaluated).toBe(2);
    expect(scores.skipped).toBe(2);
    expect(scores.ndcg10).toBeCloseTo(0.48793 / 2, 5);
    expect(scores.map).toBeCloseTo(1 / 6, 12);
    expect(scores.recall100).toBeCloseTo(1 / 3, 12);
    expect(scores.mrr).toBe(0.25);
  });

  it('gives zeros, not NaN, when nothing can be evaluated', () => {
    expect(scoreRun(['q'], new Map(), new Map())).toEqual({
      ndcg10: 0,
      map: 0,
      recall100: 0,
      mrr: 0,
      evaluated: 0,
      skipped: 1,
    });
  });
});
