import { describe, expect, it } from 'vitest';
import { clusterByMeaning } from './cluster.js';

describe('clusterByMeaning', () => {
  it('groups vectors that point the same way and keeps apart those that do not', () => {
    const items = [
      { item: 'a1', vector: [1, 0, 0] },
      { item: 'b1', vector: [0, 1, 0] },
      { item: 'a2', vector: [0.95, 0.05, 0] },
      { item: 'a3', vector: [2, 0.1, 0] },
      { item: 'c1', vector: [0, 0, 1] },
    ];
    const clusters = clusterByMeaning(items, { threshold: 0.9, maxClusters: 10 });
    expect(clusters.map((cluster) => cluster.members.sort())).toEqual([
      ['a1', 'a2', 'a3'],
      ['b1'],
      ['c1'],
    ]);
  });

  it('never makes more than maxClusters groups, and skips zero vectors', () => {
    const items = Array.from({ length: 50 }, (_, i) => ({
      item: i,
      vector: [Math.cos(i), Math.sin(i), i % 3],
    }));
    items.push({ item: 99, vector: [0, 0, 0] });
    const clusters = clusterByMeaning(items, { threshold: 0.999, maxClusters: 4 });
    expect(clusters).toHaveLength(4);
    expect(clusters.flatMap((cluster) => cluster.members)).toHaveLength(50);
  });
});
