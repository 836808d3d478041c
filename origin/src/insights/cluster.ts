/** A group of questions that mean about the same thing. */
export interface Cluster<T> {
  members: T[];
  /** Sum of the members' unit vectors: its direction is the group's centroid. */
  sum: Float64Array;
}

/**
 * Greedy leader clustering by cosine similarity: each vector joins the closest group whose
 * centroid is at least `threshold` similar, else starts a group. At most `maxClusters` groups;
 * once that many exist, a vector joins the closest one whatever its similarity. Cost is
 * O(items × maxClusters × dimension), bounded by the caller's limits on both.
 */
export function clusterByMeaning<T>(
  items: ReadonlyArray<{ item: T; vector: ArrayLike<number> }>,
  options: { threshold: number; maxClusters: number },
): Array<Cluster<T>> {
  const clusters: Array<Cluster<T> & { norm: number }> = [];
  for (const { item, vector } of items) {
    const unit = normalize(vector);
    if (unit === null) continue;
    let best = -1;
    let bestSimilarity = -Infinity;
    for (let i = 0; i < clusters.length; i += 1) {
      const cluster = clusters[i]!;
      const similarity = dot(cluster.sum, unit) / cluster.norm;
      if (similarity > bestSimilarity) {
        bestSimilarity = similarity;
        best = i;
      }
    }
    if (
      best === -1 ||
      (bestSimilarity < options.threshold && clusters.length < options.maxClusters)
    ) {
      clusters.push({ members: [item], sum: Float64Array.from(unit), norm: 1 });
      continue;
    }
    const cluster = clusters[best]!;
    cluster.members.push(item);
    for (let d = 0; d < unit.length; d += 1) cluster.sum[d]! += unit[d]!;
    cluster.norm = Math.sqrt(dot(cluster.sum, cluster.sum));
  }
  return clusters.map(({ members, sum }) => ({ members, sum }));
}

function normalize(vector: ArrayLike<number>): Float64Array | null {
  const out = new Float64Array(vector.length);
  for (let d = 0; d < out.length; d += 1) out[d] = vector[d] as number;
  const norm = Math.sqrt(dot(out, out));
  if (norm === 0 || !Number.isFinite(norm)) return null;
  for (let d = 0; d < out.length; d += 1) out[d]! /= norm;
  return out;
}

/** Over Float64Array only, so that the hot loop stays monomorphic. */
function dot(a: Float64Array, b: Float64Array): number {
  let total = 0;
  const n = a.length;
  for (let d = 0; d < n; d += 1) total += (a[d] as number) * (b[d] as number);
  return total;
}
