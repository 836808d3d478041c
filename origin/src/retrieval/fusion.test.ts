import { describe, expect, it } from 'vitest';
import { fuseRanks, singleList } from './fusion.js';

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
