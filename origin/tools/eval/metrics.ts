import type { Qrels } from './collection.js';

/** A query's judged documents: document id → gain (> 0 relevant; absent means 0). */
export type Judgments = ReadonlyMap<string, number>;

/** The four figures for one query. */
export interface QueryScores {
  ndcg10: number;
  ap: number;
  recall100: number;
  rr: number;
}

/** Means over the evaluated queries, and how many queries were skipped for lack of judgments. */
export interface RunScores {
  ndcg10: number;
  map: number;
  recall100: number;
  mrr: number;
  /** Queries with at least one relevant judged document. */
  evaluated: number;
  /** Queries with no relevant judged document: not counted in the means. */
  skipped: number;
}

/** nDCG@k with linear gain; the ideal ranking is built from every relevant judged document. */
export function ndcgAt(ranking: readonly string[], judged: Judgments, k: number): number {
  const dcg = (gains: number[]) =>
    gains.slice(0, k).reduce((sum, gain, index) => sum + gain / Math.log2(index + 2), 0);
  const ideal = dcg([...judged.values()].filter((gain) => gain > 0).sort((a, b) => b - a));
  return ideal === 0 ? 0 : dcg(unique(ranking).map((id) => gainOf(judged, id))) / ideal;
}

/** Average precision with binary relevance (gain > 0), over the whole ranking given. */
export function averagePrecision(ranking: readonly string[], judged: Judgments): number {
  const relevant = countRelevant(judged);
  if (relevant === 0) return 0;
  let hits = 0;
  let sum = 0;
  unique(ranking).forEach((id, index) => {
    if (gainOf(judged, id) > 0) {
      hits += 1;
      sum += hits / (index + 1);
    }
  });
  return sum / relevant;
}

/** The share of the relevant judged documents found in the first k. */
export function recallAt(ranking: readonly string[], judged: Judgments, k: number): number {
  const relevant = countRelevant(judged);
  if (relevant === 0) return 0;
  const found = unique(ranking)
    .slice(0, k)
    .filter((id) => gainOf(judged, id) > 0).length;
  return found / relevant;
}

/** 1 / the rank of the first relevant document; 0 when none is ranked. */
export function reciprocalRank(ranking: readonly string[], judged: Judgments): number {
  const index = unique(ranking).findIndex((id) => gainOf(judged, id) > 0);
  return index === -1 ? 0 : 1 / (index + 1);
}

/** nDCG@10, AP, Recall@100 and RR of one ranking. */
export function scoreQuery(ranking: readonly string[], judged: Judgments): QueryScores {
  return {
    ndcg10: ndcgAt(ranking, judged, 10),
    ap: averagePrecision(ranking, judged),
    recall100: recallAt(ranking, judged, 100),
    rr: reciprocalRank(ranking, judged),
  };
}

/**
 * Scores a run: `rankings` maps query id → ranked document ids. Every query in `queryIds` with
 * a relevant judgment counts (a missing ranking scores 0); the others are skipped.
 */
export function scoreRun(
  queryIds: readonly string[],
  rankings: ReadonlyMap<string, readonly string[]>,
  qrels: Qrels,
): RunScores {
  const scores: QueryScores[] = [];
  let skipped = 0;
  for (const id of queryIds) {
    const judged = qrels.get(id);
    if (judged === undefined || countRelevant(judged) === 0) skipped += 1;
    else scores.push(scoreQuery(rankings.get(id) ?? [], judged));
  }
  const mean = (pick: (s: QueryScores) => number) =>
    scores.length === 0 ? 0 : scores.reduce((sum, s) => sum + pick(s), 0) / scores.length;
  return {
    ndcg10: mean((s) => s.ndcg10),
    map: mean((s) => s.ap),
    recall100: mean((s) => s.recall100),
    mrr: mean((s) => s.rr),
    evaluated: scores.length,
    skipped,
  };
}

function gainOf(judged: Judgments, id: string): number {
  return Math.max(0, judged.get(id) ?? 0);
}

function countRelevant(judged: Judgments): number {
  return [...judged.values()].filter((gain) => gain > 0).length;
}

/** A ranking that names a document twice counts it once, at its first rank. */
function unique(ranking: readonly string[]): string[] {
  return [...new Set(ranking)];
}
