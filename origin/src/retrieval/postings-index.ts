/**
 * One site's BM25 postings held in typed arrays: the same rows as `chunk_terms` and
 * `site_terms` at one `content_version`, so that lexical scoring costs memory reads instead of
 * one index probe per posting. Built by `buildPostingsIndex` from what `loadPostingsIndex`
 * reads; immutable once built.
 */
export interface PostingsIndex {
  siteId: number;
  /** The site's `content_version` the postings were read at: the index serves no other. */
  version: number;
  /** `greatest(lexical_chunks, 1)` and the average length, as the SQL ranker reads them. */
  n: number;
  avgdl: number;
  /** The site's `lexical_length` at `version`. */
  lexicalLength: number;
  /** Local chunk number → chunk id, ascending (so local order is id order, for ties). */
  chunkIds: Float64Array;
  /** Chunk length in lexemes (the sum of its term frequencies, as the triggers store it). */
  lengths: Int32Array;
  /** Term → term number; term number → term, df and its postings `[offsets[t], offsets[t+1])`. */
  terms: Map<string, number>;
  termNames: string[];
  df: Int32Array;
  offsets: Int32Array;
  docs: Int32Array;
  tfs: Uint16Array;
  /** The chunk's own terms (a forward index), for query expansion from the first pass. */
  chunkOffsets: Int32Array;
  chunkTerms: Int32Array;
  chunkTfs: Uint16Array;
  /** Approximate heap held, for the memory budget. */
  bytes: number;
}

/** One term's postings as read from the database, chunk ids ascending. */
export interface TermPostings {
  term: string;
  df: number;
  chunkIds: ArrayLike<number>;
  tfs: ArrayLike<number>;
}

/** Per-term overhead of the dictionary (string, map entry, array slot), measured roughly. */
const BYTES_PER_TERM = 96;
/** Per-chunk scratch of a query (accumulator, norm, seen flag, touched list; see max-score.ts). */
const SCRATCH_BYTES_PER_CHUNK = 21;

/** Builds the arrays from postings grouped by term. */
export function buildPostingsIndex(input: {
  siteId: number;
  version: number;
  lexicalChunks: number;
  lexicalLength: number;
  terms: readonly TermPostings[];
}): PostingsIndex {
  let total = 0;
  const seen = new Set<number>();
  for (const t of input.terms) {
    total += t.chunkIds.length;
    for (let i = 0; i < t.chunkIds.length; i += 1) seen.add(t.chunkIds[i]!);
  }
  const chunkIds = Float64Array.from(seen).sort();
  const unique = chunkIds.length;
  const local = new Map<number, number>();
  for (let i = 0; i < chunkIds.length; i += 1) local.set(chunkIds[i]!, i);

  const termCount = input.terms.length;
  const offsets = new Int32Array(termCount + 1);
  const df = new Int32Array(termCount);
  const docs = new Int32Array(total);
  const tfs = new Uint16Array(total);
  const lengths = new Int32Array(unique);
  const terms = new Map<string, number>();
  const termNames: string[] = new Array(termCount);
  let at = 0;
  input.terms.forEach((t, termNo) => {
    terms.set(t.term, termNo);
    termNames[termNo] = t.term;
    df[termNo] = t.df;
    offsets[termNo] = at;
    for (let i = 0; i < t.chunkIds.length; i += 1) {
      const tf = t.tfs[i]!;
      if (!(tf >= 1 && tf <= 0xffff)) throw new Error(`term frequency ${tf} out of range`);
      const doc = local.get(t.chunkIds[i]!)!;
      docs[at] = doc;
      tfs[at] = tf;
      lengths[doc] = lengths[doc]! + tf;
      at += 1;
    }
  });
  offsets[termCount] = at;

  // The forward index by counting sort: chunk → its (term, tf) pairs.
  const chunkOffsets = new Int32Array(unique + 1);
  for (let p = 0; p < total; p += 1) {
    const next = docs[p]! + 1;
    chunkOffsets[next] = chunkOffsets[next]! + 1;
  }
  for (let d = 0; d < unique; d += 1) {
    chunkOffsets[d + 1] = chunkOffsets[d + 1]! + chunkOffsets[d]!;
  }
  const fill = chunkOffsets.slice(0, unique);
  const chunkTerms = new Int32Array(total);
  const chunkTfs = new Uint16Array(total);
  for (let termNo = 0; termNo < termCount; termNo += 1) {
    for (let p = offsets[termNo]!; p < offsets[termNo + 1]!; p += 1) {
      const slot = fill[docs[p]!]!;
      fill[docs[p]!] = slot + 1;
      chunkTerms[slot] = termNo;
      chunkTfs[slot] = tfs[p]!;
    }
  }

  const n = Math.max(input.lexicalChunks, 1);
  const arrays = [chunkIds, lengths, df, offsets, docs, tfs, chunkOffsets, chunkTerms, chunkTfs];
  return {
    siteId: input.siteId,
    version: input.version,
    n,
    avgdl: Math.max(input.lexicalLength / n, 1),
    lexicalLength: input.lexicalLength,
    chunkIds,
    lengths,
    terms,
    termNames,
    df,
    offsets,
    docs,
    tfs,
    chunkOffsets,
    chunkTerms,
    chunkTfs,
    bytes:
      arrays.reduce((sum, a) => sum + a.byteLength, 0) +
      termCount * BYTES_PER_TERM +
      unique * SCRATCH_BYTES_PER_CHUNK,
  };
}

/**
 * Bytes an index of a site would take at most, from its counters alone: `lexical_length`
 * counts every occurrence, so it bounds the number of postings from above. Used to refuse a
 * site before reading it.
 */
export function estimateIndexBytes(lexicalChunks: number, lexicalLength: number): number {
  return lexicalLength * 20 + lexicalChunks * 20;
}
