import type { PostingsIndex } from './postings-index.js';

/** A term of a ranked query: its postings, scaled by `factor` (the term's weight · idf). */
export interface WeightedTerm {
  termNo: number;
  factor: number;
}

/**
 * A BM25 query as the lexical ranker sums it, in this order for every chunk:
 * `(Σ originals) · scale + Σ expansions`, each part `factor · tf · (k1 + 1) / (tf + norm)`.
 * Both scorers below add the parts in exactly this order, so their scores are the same numbers
 * to the last bit, ties included.
 */
export interface RankedQuery {
  originals: readonly WeightedTerm[];
  scale: number;
  expansions: readonly WeightedTerm[];
}

/** A chunk by its local number, with its score. */
export interface ScoredChunk {
  doc: number;
  score: number;
}

/** Per index and (k1, b): each chunk's length norm and each term's best `tf·(k1+1)/(tf+norm)`. */
export interface ScoreTables {
  k1: number;
  b: number;
  /** k1 · (1 − b + b · length / avgdl) per chunk, as the SQL denominator computes it. */
  norm: Float64Array;
  /** The largest part a term can give a chunk before its factor: its upper bound. */
  maxRatio: Float64Array;
}

/** Builds the tables: one pass over every posting, once per index and parameters. */
export function scoreTables(index: PostingsIndex, k1: number, b: number): ScoreTables {
  const count = index.chunkIds.length;
  const norm = new Float64Array(count);
  for (let d = 0; d < count; d += 1) norm[d] = k1 * (1 - b + (b * index.lengths[d]!) / index.avgdl);
  const termCount = index.df.length;
  const maxRatio = new Float64Array(termCount);
  const k1p1 = k1 + 1;
  for (let t = 0; t < termCount; t += 1) {
    let best = 0;
    for (let p = index.offsets[t]!; p < index.offsets[t + 1]!; p += 1) {
      const tf = index.tfs[p]!;
      const ratio = (tf * k1p1) / (tf + norm[index.docs[p]!]!);
      if (ratio > best) best = ratio;
    }
    maxRatio[t] = best;
  }
  return { k1, b, norm, maxRatio };
}

/**
 * Slack on every upper bound before it prunes: bounds and scores are rounded floating-point
 * sums, so a bound is trusted only when it misses the threshold by more than rounding can.
 */
const INFLATE = 1 + 1e-9;

/** Accumulators reused across queries of one index (scoring is synchronous, never shared). */
interface Scratch {
  acc: Float64Array;
  seen: Uint8Array;
  touched: Int32Array;
}

const scratches = new WeakMap<PostingsIndex, Scratch>();

function scratchOf(index: PostingsIndex): Scratch {
  let s = scratches.get(index);
  if (s === undefined) {
    const count = index.chunkIds.length;
    s = {
      acc: new Float64Array(count),
      seen: new Uint8Array(count),
      touched: new Int32Array(count),
    };
    scratches.set(index, s);
  }
  return s;
}

/**
 * The best `k` chunks of `query` by score, then local number (= chunk id order), with exact
 * dynamic pruning in the manner of MaxScore (Turtle and Flood 1995), term at a time: the lists
 * are summed from the largest upper bound down until the bounds of the lists left cannot lift a
 * chunk not yet seen past the k-th best partial sum (partial sums only grow, so that floor is
 * safe); from then on only the chunks already seen whose partial sum plus the bounds left can
 * still reach the floor are probed in the remaining lists, and the survivors are scored exactly.
 * Rare terms have the largest bounds and the shortest lists, so the long lists of common terms
 * are mostly probed rather than walked. Exact: the same list and scores as summing every
 * posting (`rankExhaustive`), the survivors' scores summed in the same order. Every factor must
 * be positive (a bound of zero would prune chunks that tie at zero).
 *
 * `seeds` (chunks likely to rank high, e.g. an earlier pass's best) give a floor before any
 * list is read: the k-th best of their exact scores.
 */
export function rankPruned(
  index: PostingsIndex,
  tables: ScoreTables,
  query: RankedQuery,
  k: number,
  seeds: readonly number[] = [],
): ScoredChunk[] {
  const originals = query.originals.length;
  const terms = [...query.originals, ...query.expansions];
  const m = terms.length;
  if (m === 0 || k <= 0) return [];
  const k1p1 = tables.k1 + 1;
  const { docs, tfs, offsets } = index;
  const norm = tables.norm;
  // A list's part → its share of the score (the originals are scaled), and its bound.
  const share = terms.map((t, i) => (i < originals ? t.factor * query.scale : t.factor));
  const bound = terms.map((t, i) => share[i]! * tables.maxRatio[t.termNo]!);
  const order = Array.from({ length: m }, (_, i) => i).sort((x, y) => bound[y]! - bound[x]!);
  // `left[j]`: the most the lists order[j..] can add to any chunk.
  const left = new Float64Array(m + 1);
  for (let j = m - 1; j >= 0; j -= 1) left[j] = (left[j + 1]! + bound[order[j]!]!) * INFLATE;
  let floor = seedFloor(index, tables, query, k, seeds);
  const s = scratchOf(index);
  const { acc, seen, touched } = s;
  let count = 0;
  // The largest partial sum: the k-th largest is never above it, so while the lists left can
  // add more than it, the k-th largest cannot stop the walk and is not worth finding.
  let top = 0;
  /** Whether `floor` holds the k-th largest of the partial sums as they are. */
  let fresh = false;
  try {
    let j = 0;
    for (; j < m && !(left[j]! < floor); j += 1) {
      const term = terms[order[j]!]!;
      const f = term.factor;
      const sh = order[j]! < originals ? query.scale : 1;
      const to = offsets[term.termNo + 1]!;
      for (let p = offsets[term.termNo]!; p < to; p += 1) {
        const d = docs[p]!;
        const tf = tfs[p]!;
        if (seen[d] === 0) {
          seen[d] = 1;
          touched[count++] = d;
        }
        const sum = acc[d]! + ((f * tf * k1p1) / (tf + norm[d]!)) * sh;
        acc[d] = sum;
        if (sum > top) top = sum;
      }
      fresh = count >= k && !(left[j + 1]! >= top);
      if (fresh) floor = Math.max(floor, kthLargest(acc, touched, count, k) / INFLATE);
    }
    // The probing below starts from the floor of every partial sum.
    if (!fresh && count >= k) floor = Math.max(floor, kthLargest(acc, touched, count, k) / INFLATE);
    // The chunks that may still reach the floor, ascending, probed in the lists left.
    let n = 0;
    const candidates = new Int32Array(count);
    for (let i = 0; i < count; i += 1) {
      const d = touched[i]!;
      if (!((acc[d]! + left[j]!) * INFLATE < floor)) candidates[n++] = d;
    }
    candidates.subarray(0, n).sort();
    for (; j < m && n > k; j += 1) {
      const term = terms[order[j]!]!;
      const f = term.factor;
      const sh = order[j]! < originals ? query.scale : 1;
      const to = offsets[term.termNo + 1]!;
      let p = offsets[term.termNo]!;
      for (let i = 0; i < n; i += 1) {
        const d = candidates[i]!;
        p = seek(docs, p, to, d);
        if (p >= to) break;
        if (docs[p] === d) {
          const tf = tfs[p]!;
          acc[d] = acc[d]! + ((f * tf * k1p1) / (tf + norm[d]!)) * sh;
        }
      }
      const rest = left[j + 1]!;
      let kept = 0;
      for (let i = 0; i < n; i += 1) {
        const d = candidates[i]!;
        if (!((acc[d]! + rest) * INFLATE < floor)) candidates[kept++] = d;
      }
      n = kept;
    }
    // The survivors scored exactly, in the canonical order, and ranked.
    const survivors = candidates.subarray(0, n);
    const scores = exactScores(index, tables, query, survivors);
    const heap = new TopK(k);
    for (let i = 0; i < n; i += 1) {
      const score = scores[i]!;
      if (!heap.full || score > heap.minScore) heap.push(survivors[i]!, score);
    }
    return heap.sorted();
  } finally {
    for (let i = 0; i < count; i += 1) {
      const d = touched[i]!;
      acc[d] = 0;
      seen[d] = 0;
    }
  }
}

/** The k-th largest accumulator among the touched chunks (count ≥ k). */
function kthLargest(acc: Float64Array, touched: Int32Array, count: number, k: number): number {
  // A min-heap of the k largest values.
  const heap = new Float64Array(k);
  let size = 0;
  for (let i = 0; i < count; i += 1) {
    const v = acc[touched[i]!]!;
    if (size < k) {
      let j = size++;
      heap[j] = v;
      while (j > 0) {
        const parent = (j - 1) >> 1;
        if (heap[parent]! <= heap[j]!) break;
        [heap[parent], heap[j]] = [heap[j]!, heap[parent]!];
        j = parent;
      }
    } else if (v > heap[0]!) {
      heap[0] = v;
      for (let j = 0; ; ) {
        const l = 2 * j + 1;
        const r = l + 1;
        let smallest = j;
        if (l < k && heap[l]! < heap[smallest]!) smallest = l;
        if (r < k && heap[r]! < heap[smallest]!) smallest = r;
        if (smallest === j) break;
        [heap[smallest], heap[j]] = [heap[j]!, heap[smallest]!];
        j = smallest;
      }
    }
  }
  return heap[0]!;
}

/**
 * The scores of `chunks` (ascending local numbers) with every part summed in the canonical order
 * (see `RankedQuery`): term by term, each list walked once across the chunks. Each chunk's sum
 * takes its parts in the same order as a chunk-by-chunk sum would (a term it lacks adds 0,
 * which leaves a sum unchanged to the bit).
 */
function exactScores(
  index: PostingsIndex,
  tables: ScoreTables,
  query: RankedQuery,
  chunks: Int32Array,
): Float64Array {
  const scores = new Float64Array(chunks.length);
  const k1p1 = tables.k1 + 1;
  const { docs, tfs, offsets } = index;
  const norm = tables.norm;
  const add = (term: WeightedTerm) => {
    const to = offsets[term.termNo + 1]!;
    let p = offsets[term.termNo]!;
    for (let i = 0; i < chunks.length; i += 1) {
      const d = chunks[i]!;
      p = seek(docs, p, to, d);
      if (p >= to) return;
      if (docs[p] === d) {
        const tf = tfs[p]!;
        scores[i] = scores[i]! + (term.factor * tf * k1p1) / (tf + norm[d]!);
      }
    }
  };
  for (const term of query.originals) add(term);
  if (query.scale !== 1)
    for (let i = 0; i < scores.length; i += 1) scores[i] = scores[i]! * query.scale;
  for (const term of query.expansions) add(term);
  return scores;
}

/**
 * The k-th best exact score among `seeds`, or −∞ with fewer than k of them. At least k chunks
 * score this much, so a chunk whose bound falls below it (by more than rounding) is out.
 */
function seedFloor(
  index: PostingsIndex,
  tables: ScoreTables,
  query: RankedQuery,
  k: number,
  seeds: readonly number[],
): number {
  const distinct = Int32Array.from(new Set(seeds)).sort();
  if (distinct.length < k) return Number.NEGATIVE_INFINITY;
  const scores = exactScores(index, tables, query, distinct).sort();
  return scores[scores.length - k]!;
}

/** The first position in `[from, to)` whose chunk is ≥ `d`: galloping, then binary search. */
function seek(docs: Int32Array, from: number, to: number, d: number): number {
  if (from >= to || docs[from]! >= d) return from;
  let step = 1;
  let lo = from;
  let hi = from + 1;
  while (hi < to && docs[hi]! < d) {
    lo = hi;
    step *= 2;
    hi = from + step;
  }
  if (hi > to) hi = to;
  // docs[lo] < d; docs[hi] >= d or hi = to.
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (docs[mid]! < d) lo = mid;
    else hi = mid;
  }
  return hi;
}

/**
 * Every posting of `query` summed term at a time: the reference `rankPruned` must equal, and
 * the scorer for queries it cannot take (a factor ≤ 0).
 */
export function rankExhaustive(
  index: PostingsIndex,
  tables: ScoreTables,
  query: RankedQuery,
  k: number,
): ScoredChunk[] {
  const count = index.chunkIds.length;
  const acc = new Float64Array(count);
  const seen = new Uint8Array(count);
  const touched: number[] = [];
  const k1p1 = tables.k1 + 1;
  const add = (term: WeightedTerm) => {
    for (let p = index.offsets[term.termNo]!; p < index.offsets[term.termNo + 1]!; p += 1) {
      const d = index.docs[p]!;
      const tf = index.tfs[p]!;
      if (seen[d] === 0) {
        seen[d] = 1;
        touched.push(d);
      }
      acc[d] = acc[d]! + (term.factor * tf * k1p1) / (tf + tables.norm[d]!);
    }
  };
  for (const term of query.originals) add(term);
  if (query.scale !== 1) for (const d of touched) acc[d] = acc[d]! * query.scale;
  for (const term of query.expansions) add(term);
  const heap = new TopK(k);
  // Ascending local order, as `rankPruned` meets them (ties keep the lower chunk id).
  touched.sort((a, b) => a - b);
  for (const d of touched) if (!heap.full || acc[d]! > heap.minScore) heap.push(d, acc[d]!);
  return heap.sorted();
}

/**
 * The best `k` chunks pushed so far, by score then local number. Chunks must be pushed in
 * ascending local order, so that a later chunk tying the k-th best ranks below it.
 */
class TopK {
  private readonly docs: number[] = [];
  private readonly scores: number[] = [];

  constructor(private readonly k: number) {}

  get full(): boolean {
    return this.docs.length >= this.k;
  }

  /** The k-th best score (the worst held). */
  get minScore(): number {
    return this.scores[0]!;
  }

  push(doc: number, score: number): void {
    if (this.full) {
      this.docs[0] = doc;
      this.scores[0] = score;
      this.down(0);
      return;
    }
    this.docs.push(doc);
    this.scores.push(score);
    for (let j = this.docs.length - 1; j > 0; ) {
      const parent = (j - 1) >> 1;
      if (!this.worse(j, parent)) break;
      this.swap(j, parent);
      j = parent;
    }
  }

  sorted(): ScoredChunk[] {
    return this.docs
      .map((doc, i) => ({ doc, score: this.scores[i]! }))
      .sort((x, y) => y.score - x.score || x.doc - y.doc);
  }

  /** Whether slot a ranks below slot b. */
  private worse(a: number, b: number): boolean {
    const sa = this.scores[a]!;
    const sb = this.scores[b]!;
    return sa < sb || (sa === sb && this.docs[a]! > this.docs[b]!);
  }

  private down(i: number): void {
    const n = this.docs.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.worse(l, m)) m = l;
      if (r < n && this.worse(r, m)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }

  private swap(a: number, b: number): void {
    [this.docs[a], this.docs[b]] = [this.docs[b]!, this.docs[a]!];
    [this.scores[a], this.scores[b]] = [this.scores[b]!, this.scores[a]!];
  }
}
