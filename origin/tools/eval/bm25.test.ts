import { describe, expect, it } from 'vitest';
import { SMART_STOPWORDS } from '../../src/retrieval/stopwords.js';
import { Bm25Index, tokenize } from './bm25.js';

describe('tokenize', () => {
  it('lowercases, splits on non-alphanumerics and drops SMART stop words', () => {
    expect(tokenize('The Wing-Body interference, at Mach 2.5!')).toEqual([
      'wing',
      'body',
      'interference',
      'mach',
      '2',
      '5',
    ]);
    expect(tokenize('Über die Strömung')).toEqual(['über', 'die', 'strömung']);
  });

  it('uses the 571-line SMART list (570 distinct words: "would" is listed twice)', () => {
    expect(SMART_STOPWORDS.size).toBe(570);
    for (const word of ['a', "a's", 'according', 'uucp', 'would', 'zero']) {
      expect(SMART_STOPWORDS.has(word)).toBe(true);
    }
    expect(SMART_STOPWORDS.has('wing')).toBe(false);
  });
});

describe('Bm25Index', () => {
  // Lengths 2, 3, 1: average 2. N = 3.
  const index = new Bm25Index([
    { id: 'd1', title: 'Apple', text: 'banana' },
    { id: 'd2', title: '', text: 'apple apple cherry' },
    { id: 'd3', title: 'banana', text: '' },
  ]);
  const idf = (df: number) => Math.log(1 + (3 - df + 0.5) / (df + 0.5));
  const norm = (length: number) => 1.2 * (1 - 0.75 + (0.75 * length) / 2);
  const term = (df: number, tf: number, length: number) =>
    (idf(df) * tf * 2.2) / (tf + norm(length));

  it('scores with k1 = 1.2, b = 0.75 and idf ln(1 + (N − df + 0.5) / (df + 0.5))', () => {
    const hits = index.search('the apple', 10);
    expect(hits.map((hit) => hit.id)).toEqual(['d2', 'd1']);
    expect(hits[0]!.score).toBeCloseTo(term(2, 2, 3), 12);
    expect(hits[1]!.score).toBeCloseTo(term(2, 1, 2), 12);
  });

  it('indexes the title with the text and sums the query terms', () => {
    const hits = index.search('cherry banana', 10);
    // cherry (rare) in a long document beats banana (common) in the shortest one.
    expect(hits.map((hit) => hit.id)).toEqual(['d2', 'd3', 'd1']);
    expect(hits[0]!.score).toBeCloseTo(term(1, 1, 3), 12);
    expect(hits[1]!.score).toBeCloseTo(term(2, 1, 1), 12);
    expect(hits[2]!.score).toBeCloseTo(term(2, 1, 2), 12);
  });

  it('returns at most k documents, only those that match', () => {
    expect(index.search('apple', 1).map((hit) => hit.id)).toEqual(['d2']);
    expect(index.search('durian and about', 10)).toEqual([]);
  });
});
