/** A ranked list entry: vector hits carry a similarity, lexical hits a BM25 score. */
export interface RankedHit {
  id: number;
  value: number;
}

/** Both lists' view of one fused candidate. Ranks are 1-based; null when a list lacked it. */
export interface FusedHit {
  id: number;
  vectorRank: number | null;
  vectorSimilarity: number | null;
  fulltextRank: number | null;
  fulltextScore: number | null;
  fused: number;
}

/** The fusion's weights (ranking policy, from the settings). */
export interface FusionWeights {
  rrfK: number;
  vectorWeight: number;
  fulltextWeight: number;
}

/**
 * Weighted reciprocal rank fusion: score = wv / (k + rank_v) + wl / (k + rank_l), a missing
 * list adding nothing; the best `depth` by score, then id. Lists come best first.
 */
export function fuseRanks(
  vector: readonly RankedHit[],
  lexical: readonly RankedHit[],
  weights: FusionWeights,
  depth: number,
): FusedHit[] {
  const byId = new Map<number, FusedHit>();
  vector.forEach((hit, i) => {
    byId.set(hit.id, {
      id: hit.id,
      vectorRank: i + 1,
      vectorSimilarity: hit.value,
      fulltextRank: null,
      fulltextScore: null,
      fused: 0,
    });
  });
  lexical.forEach((hit, i) => {
    const entry = byId.get(hit.id) ?? {
      id: hit.id,
      vectorRank: null,
      vectorSimilarity: null,
      fulltextRank: null,
      fulltextScore: null,
      fused: 0,
    };
    entry.fulltextRank = i + 1;
    entry.fulltextScore = hit.value;
    byId.set(hit.id, entry);
  });
  const fused = [...byId.values()];
  for (const entry of fused) {
    entry.fused =
      (entry.vectorRank === null ? 0 : weights.vectorWeight / (weights.rrfK + entry.vectorRank)) +
      (entry.fulltextRank === null
        ? 0
        : weights.fulltextWeight / (weights.rrfK + entry.fulltextRank));
  }
  fused.sort((a, b) => b.fused - a.fused || a.id - b.id);
  return fused.slice(0, depth);
}

/**
 * Weighted fusion of the lists' own scores: each list's scores are min-max normalised over the
 * list (its best 1, its last 0; a chunk it lacks 0), and the fused score is their weighted mean,
 * wv·v + wl·l over wv + wl. Unlike rank fusion it keeps how far apart the scores are: a weak
 * embedder's list, given a small weight, moves a chunk only past near-ties of full text, while a
 * chunk both lists rank high still rises. The best `depth` by score, then id.
 */
export function fuseScores(
  vector: readonly RankedHit[],
  lexical: readonly RankedHit[],
  weights: FusionWeights,
  depth: number,
): FusedHit[] {
  const fused = fuseRanks(vector, lexical, weights, Number.POSITIVE_INFINITY);
  const v = normaliser(vector);
  const l = normaliser(lexical);
  const total = weights.vectorWeight + weights.fulltextWeight;
  for (const entry of fused) {
    const score =
      weights.vectorWeight * v(entry.vectorSimilarity) +
      weights.fulltextWeight * l(entry.fulltextScore);
    entry.fused = total > 0 ? score / total : 0;
  }
  fused.sort((a, b) => b.fused - a.fused || a.id - b.id);
  return fused.slice(0, depth);
}

/** Min-max normalisation over a list: its best score 1, its last 0, a missing score 0. */
function normaliser(hits: readonly RankedHit[]): (value: number | null) => number {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const { value } of hits) {
    lo = Math.min(lo, value);
    hi = Math.max(hi, value);
  }
  return (value) => (value === null ? 0 : hi > lo ? (value - lo) / (hi - lo) : 1);
}

/** A single list as candidates: its rank gives the fused score 1 / (k + rank). */
export function singleList(
  hits: readonly RankedHit[],
  kind: 'vector' | 'fulltext',
  rrfK: number,
): FusedHit[] {
  return hits.map((hit, i) => ({
    id: hit.id,
    vectorRank: kind === 'vector' ? i + 1 : null,
    vectorSimilarity: kind === 'vector' ? hit.value : null,
    fulltextRank: kind === 'fulltext' ? i + 1 : null,
    fulltextScore: kind === 'fulltext' ? hit.value : null,
    fused: 1 / (rrfK + i + 1),
  }));
}
