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

/** Accumulators reused across queries of one index (scoring is synchronous, so never shared). */
interface Scratch {
  k1: number;
  b: number;
  /** k1 · (1 − b + b · length / avgdl) per chunk, as the SQL denominator computes it. */
  norm: Float64Array;
  acc: Float64Array;
  seen: Uint8Array;
  touched: Int32Array;
}

const scratches = new WeakMap<PostingsIndex, Scratch>();

function scratchOf(index: PostingsIndex, k1: number, b: number): Scratch {
  let s = scratches.get(index);
  if (s === undefined || s.k1 !== k1 || s.b !== b) {
    const count = index.chunkIds.length;
    const norm = new Float64Array(count);
    for (let d = 0; d < count; d += 1)
      norm[d] = k1 * (1 - b + (b * index.lengths[d]!) / index.avgdl);
    s = {
      k1,
      b,
      norm,
      acc: s?.acc ?? new Float64Array(count),
      seen: s?.seen ?? new Uint8Array(count),
      touched: s?.touched ?? new Int32Array(count),
    };
    scratches.set(index, s);
  }
  return s;
}

/**
 * BM25 with pseudo-relevance feedback over the index, the definition of `lexicalSql` computed
 * term at a time: idf = ln(1 + (N − df + 0.5) / (df + 0.5)); the first pass's top chunks give
 * RM3-style expansion terms; the second pass reuses the first pass's sums (scaled by the
 * original terms' weight) and adds only the expansion terms' postings. Returns the top `depth`
 * by score, then chunk id. `queryTerms` are the distinct lexemes of the query, present in the
 * site or not (their count scales the expansion weights, as in SQL).
 */
export function rankLexical(
  index: PostingsIndex,
  queryTerms: readonly string[],
  params: Bm25Params,
  depth: number,
): LexicalHit[] {
  const s = scratchOf(index, params.k1, params.b);
  let touchedCount = 0;
  const add = (termNo: number, weight: number) => {
    const df = index.df[termNo]!;
    const idf = Math.log(1 + (index.n - df + 0.5) / (df + 0.5));
    const factor = weight * idf;
    const k1p1 = params.k1 + 1;
    for (let p = index.offsets[termNo]!; p < index.offsets[termNo + 1]!; p += 1) {
      const d = index.docs[p]!;
      const tf = index.tfs[p]!;
      if (s.seen[d] === 0) {
        s.seen[d] = 1;
        s.touched[touchedCount++] = d;
      }
      s.acc[d] = s.acc[d]! + (factor * tf * k1p1) / (tf + s.norm[d]!);
    }
  };
  try {
    const present = queryTerms.flatMap((term) => {
      const termNo = index.terms.get(term);
      return termNo === undefined ? [] : [termNo];
    });
    for (const termNo of present) add(termNo, 1);
    const firstPass =
      params.feedbackDocs > 0 ? topK(s, touchedCount, params.feedbackDocs) : ([] as number[]);
    const expansion = feedbackTerms(index, s, firstPass, params.feedbackTerms);
    const ow = params.originalWeight;
    if (ow !== 1) {
      for (let i = 0; i < touchedCount; i += 1) {
        const d = s.touched[i]!;
        s.acc[d] = s.acc[d]! * ow;
      }
    }
    if (expansion.length > 0) {
      const total = expansion.reduce((sum, e) => sum + e.weight, 0);
      for (const e of expansion) add(e.termNo, (((1 - ow) * e.weight) / total) * queryTerms.length);
    }
    return topK(s, touchedCount, depth).map((d) => ({ id: index.chunkIds[d]!, score: s.acc[d]! }));
  } finally {
    for (let i = 0; i < touchedCount; i += 1) {
      const d = s.touched[i]!;
      s.acc[d] = 0;
      s.seen[d] = 0;
    }
  }
}

/**
 * The expansion terms of `lexicalSql`'s `feedback`: per term of the first pass's chunks,
 * Σ tf / length · e^(score − best), times ln(N / df); terms in more than a tenth of the chunks,
 * shorter than 3 characters or all digits left out; the best `limit` by weight, then term.
 */
function feedbackTerms(
  index: PostingsIndex,
  s: Scratch,
  firstPass: readonly number[],
  limit: number,
): Array<{ termNo: number; weight: number }> {
  if (firstPass.length === 0 || limit <= 0) return [];
  const best = s.acc[firstPass[0]!]!;
  const weights = new Map<number, number>();
  for (const d of firstPass) {
    const share = Math.exp(s.acc[d]! - best);
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

/** The best `k` touched chunks by score, then chunk id (local order is id order). */
function topK(s: Scratch, touchedCount: number, k: number): number[] {
  const heap: number[] = [];
  // `worse(a, b)`: a ranks below b.
  const worse = (a: number, b: number) => s.acc[a]! < s.acc[b]! || (s.acc[a] === s.acc[b] && a > b);
  const siftDown = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && worse(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && worse(heap[r]!, heap[m]!)) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  };
  for (let i = 0; i < touchedCount; i += 1) {
    const d = s.touched[i]!;
    if (heap.length < k) {
      heap.push(d);
      for (let j = heap.length - 1; j > 0; ) {
        const parent = (j - 1) >> 1;
        if (!worse(heap[j]!, heap[parent]!)) break;
        [heap[j], heap[parent]] = [heap[parent]!, heap[j]!];
        j = parent;
      }
    } else if (k > 0 && worse(heap[0]!, d)) {
      heap[0] = d;
      siftDown(0);
    }
  }
  return heap.sort((a, b) => (worse(a, b) ? 1 : worse(b, a) ? -1 : 0));
}
