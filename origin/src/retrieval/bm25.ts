import {
  type RankedQuery,
  rankExhaustive,
  rankPruned,
  type ScoredChunk,
  type ScoreTables,
  scoreTables,
  type WeightedTerm,
} from './max-score.js';
import type { PostingsIndex } from './postings-index.js';

/** The lexical ranker's parameters, as `lexicalSql` binds them. */
export interface Bm25Params {
  k1: number;
  b: number;
  feedbackDocs: number;
  feedbackTerms: number;
  /** Weight of the original terms in the expanded query (1 when feedback is off). */
  originalWeight: number;
}

/** A chunk of the ranked lexical list. */
export interface LexicalHit {
  id: number;
  score: number;
}

/** How the lists are found: pruned (the default) or every posting summed (the reference). */
export type Strategy = 'pruned' | 'exhaustive';

const tablesOf = new WeakMap<PostingsIndex, ScoreTables>();

function tables(index: PostingsIndex, k1: number, b: number): ScoreTables {
  let t = tablesOf.get(index);
  if (t === undefined || t.k1 !== k1 || t.b !== b) {
    t = scoreTables(index, k1, b);
    tablesOf.set(index, t);
  }
  return t;
}

/**
 * BM25 with pseudo-relevance feedback over the index, the definition of `lexicalSql`:
 * idf = ln(1 + (N − df + 0.5) / (df + 0.5)); the first pass's top chunks give RM3-style
 * expansion terms; the final list scores the original terms (scaled by their weight) plus the
 * expansion terms. Each pass is a top-k search with exact dynamic pruning (max-score.ts), so
 * its cost follows the postings that can still matter rather than every posting. Returns the
 * top `depth` by score, then chunk id. `queryTerms` are the distinct lexemes of the query,
 * present in the site or not (their count scales the expansion weights, as in SQL).
 */
export function rankLexical(
  index: PostingsIndex,
  queryTerms: readonly string[],
  params: Bm25Params,
  depth: number,
  strategy: Strategy = 'pruned',
): LexicalHit[] {
  const t = tables(index, params.k1, params.b);
  const originals: WeightedTerm[] = queryTerms.flatMap((term) => {
    const termNo = index.terms.get(term);
    return termNo === undefined ? [] : [{ termNo, factor: idf(index, termNo) }];
  });
  const rank = (query: RankedQuery, k: number, seeds: readonly number[] = []) =>
    strategy === 'pruned' &&
    query.scale > 0 &&
    [...query.originals, ...query.expansions].every((w) => w.factor > 0)
      ? rankPruned(index, t, query, k, seeds)
      : rankExhaustive(index, t, query, k);
  let final: RankedQuery = { originals, scale: 1, expansions: [] };
  let seeds: number[] = [];
  if (params.feedbackDocs > 0) {
    // The first pass goes as deep as the final list: its best chunks, scored again with the
    // expansion terms, set the final pass's pruning floor from its start (max-score.ts).
    const firstPass = rank(final, Math.max(params.feedbackDocs, depth));
    seeds = firstPass.map((hit) => hit.doc);
    const expansion = feedbackTerms(
      index,
      firstPass.slice(0, params.feedbackDocs),
      params.feedbackTerms,
    );
    const ow = params.originalWeight;
    const total = expansion.reduce((sum, e) => sum + e.weight, 0);
    final = {
      originals,
      scale: ow,
      expansions: expansion.map((e) => ({
        termNo: e.termNo,
        factor: (((1 - ow) * e.weight) / total) * queryTerms.length * idf(index, e.termNo),
      })),
    };
  }
  return rank(final, depth, seeds).map((hit) => ({
    id: index.chunkIds[hit.doc]!,
    score: hit.score,
  }));
}

function idf(index: PostingsIndex, termNo: number): number {
  const df = index.df[termNo]!;
  return Math.log(1 + (index.n - df + 0.5) / (df + 0.5));
}

/**
 * The expansion terms of `lexicalSql`'s `feedback`: per term of the first pass's chunks,
 * Σ tf / length · e^(score − best), times ln(N / df); terms in more than a tenth of the chunks,
 * shorter than 3 characters or all digits left out; the best `limit` by weight, then term.
 */
function feedbackTerms(
  index: PostingsIndex,
  firstPass: readonly ScoredChunk[],
  limit: number,
): Array<{ termNo: number; weight: number }> {
  if (firstPass.length === 0 || limit <= 0) return [];
  const best = firstPass[0]!.score;
  const weights = new Map<number, number>();
  for (const { doc: d, score } of firstPass) {
    const share = Math.exp(score - best);
    for (let p = index.chunkOffsets[d]!; p < index.chunkOffsets[d + 1]!; p += 1) {
      const termNo = index.chunkTerms[p]!;
      if (!expandable(index, termNo)) continue;
      const part = (index.chunkTfs[p]! / index.lengths[d]!) * share;
      weights.set(termNo, (weights.get(termNo) ?? 0) + part);
    }
  }
  const ranked = [...weights].map(([termNo, sum]) => ({
    termNo,
    weight: sum * Math.log(index.n / index.df[termNo]!),
  }));
  ranked.sort(
    (x, y) =>
      y.weight - x.weight || compareTerms(index.termNames[x.termNo]!, index.termNames[y.termNo]!),
  );
  return ranked.slice(0, limit);
}

const DIGITS = /^[0-9]+$/;
const expandableCache = new WeakMap<PostingsIndex, Int8Array>();

/** `df <= N / 10 and length(term) >= 3 and term !~ '^[0-9]+$'`, memoized per term. */
function expandable(index: PostingsIndex, termNo: number): boolean {
  let cache = expandableCache.get(index);
  if (cache === undefined) {
    cache = new Int8Array(index.termNames.length);
    expandableCache.set(index, cache);
  }
  let value = cache[termNo]!;
  if (value === 0) {
    const term = index.termNames[termNo]!;
    const ok = index.df[termNo]! <= index.n / 10 && [...term].length >= 3 && !DIGITS.test(term);
    value = ok ? 1 : -1;
    cache[termNo] = value;
  }
  return value === 1;
}

/** Code-point order: PostgreSQL's C collation; only breaks exact ties of expansion weight. */
function compareTerms(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
