import { describe, expect, it } from 'vitest';
import { vec } from './answer-cache.contract.js';
import { cosineSimilarity, normalizeQuestion, rankSimilar } from './answer-cache.js';

describe('normalizeQuestion', () => {
  it('lowercases, collapses whitespace and drops trailing punctuation', () => {
    expect(normalizeQuestion('  What\tIS   the Refund\npolicy ?!. ')).toBe(
      'what is the refund policy',
    );
  });

  it('keeps punctuation inside the question', () => {
    expect(normalizeQuestion('Is v2.1 out?')).toBe('is v2.1 out');
  });
});

describe('cosineSimilarity', () => {
  it('is 1 for parallel vectors and 0 for orthogonal ones', () => {
    expect(cosineSimilarity(vec(1, 2), vec(2, 4))).toBeCloseTo(1);
    expect(cosineSimilarity(vec(1, 0), vec(0, 3))).toBe(0);
  });

  it('is 0 for vectors of different lengths or a zero vector', () => {
    expect(cosineSimilarity(vec(1, 0), vec(1, 0, 0))).toBe(0);
    expect(cosineSimilarity(vec(0, 0), vec(1, 0))).toBe(0);
  });
});

describe('rankSimilar', () => {
  it('keeps matches at or above the threshold, best first', () => {
    const entries = [
      { id: 'a', embedding: vec(1, 0) },
      { id: 'b', embedding: vec(1, 1) },
      { id: 'c', embedding: vec(0, 1) },
    ];
    const ranked = rankSimilar(entries, vec(1, 0.2), 0.7);
    expect(ranked.map((r) => r.entry.id)).toEqual(['a', 'b']);
  });
});
