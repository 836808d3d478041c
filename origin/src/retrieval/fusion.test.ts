import { describe, expect, it } from 'vitest';
import { fuseRanks, fuseScores, singleList } from './fusion.js';

const weights = { rrfK: 60, vectorWeight: 1, fulltextWeight: 1 };

describe('fuseRanks', () => {
  it('adds w / (k + rank) of each list that holds a chunk, best first, ties by id', () => {
    const fused = fuseRanks(
      [
        { id: 7, value: 0.9 },
        { id: 3, value: 0.8 },
      ],
      [
        { id: 3, value: 12.5 },
        { id: 9, value: 4 },
        { id: 7, value: 1 },
      ],
      weights,
      10,
    );
    expect(fused.map((f) => f.id)).toEqual([3, 7, 9]);
    expect(fused[0]).toEqual({
      id: 3,
      vectorRank: 2,
      vectorSimilarity: 0.8,
      fulltextRank: 1,
      fulltextScore: 12.5,
      fused: 1 / 62 + 1 / 61,
    });
    expect(fused[2]).toMatchObject({ vectorRank: null, vectorSimilarity: null, fused: 1 / 62 });
    // Equal fused scores: the smaller id first, as the SQL fusion ordered them.
    const tie = fuseRanks([{ id: 5, value: 1 }], [{ id: 4, value: 1 }], weights, 10);
    expect(tie.map((f) => f.id)).toEqual([4, 5]);
  });

  it('weighs the lists and cuts at the depth', () => {
    const fused = fuseRanks(
      [{ id: 1, value: 0.5 }],
      [{ id: 2, value: 3 }],
      { rrfK: 60, vectorWeight: 0.5, fulltextWeight: 1 },
      1,
    );
    expect(fused).toHaveLength(1);
    expect(fused[0]!.id).toBe(2);
  });

  it('gives a single list 1 / (k + rank)', () => {
    const list = singleList(
      [
        { id: 4, value: 2 },
        { id: 1, value: 1 },
      ],
      'fulltext',
      60,
    );
    expect(list.map((f) => [f.id, f.fulltextRank, f.fused])).toEqual([
      [4, 1, 1 / 61],
      [1, 2, 1 / 62],
    ]);
  });
});

describe('fuseScores', () => {
  const lexical = [
    { id: 1, value: 10 },
    { id: 2, value: 9.8 },
    { id: 3, value: 4 },
    { id: 4, value: 2 },
  ];

  it('averages the min-max normalised scores by weight, a missing score counting 0', () => {
    const fused = fuseScores(
      [
        { id: 3, value: 0.9 },
        { id: 2, value: 0.5 },
        { id: 9, value: 0.1 },
      ],
      lexical,
      { rrfK: 60, vectorWeight: 1, fulltextWeight: 1 },
      10,
    );
    const byId = new Map(fused.map((f) => [f.id, f]));
    expect(byId.get(1)!.fused).toBeCloseTo(0.5); // best of full text, not in the vector list
    expect(byId.get(2)!.fused).toBeCloseTo((0.975 + 0.5) / 2);
    expect(byId.get(3)!.fused).toBeCloseTo((0.25 + 1) / 2);
    expect(byId.get(9)).toMatchObject({ fused: 0, fulltextRank: null, vectorRank: 3 });
    expect(fused.map((f) => f.id)).toEqual([2, 3, 1, 4, 9]);
  });

  it('lets a lightly weighted list reorder near-ties of the other only', () => {
    const weak = { rrfK: 60, vectorWeight: 0.1, fulltextWeight: 1 };
    // The vector list's favourite is 2, then 4: 2 passes 1 (0.2 apart in 10), 4 passes no one.
    const fused = fuseScores(
      [
        { id: 2, value: 0.9 },
        { id: 4, value: 0.8 },
        { id: 1, value: 0.1 },
      ],
      lexical,
      weak,
      3,
    );
    expect(fused.map((f) => f.id)).toEqual([2, 1, 3]);
  });
});
