/**
 * The reranker for machines without the cross-encoder model: no model, no I/O, deterministic.
 * First-stage retrieval fuses a vector search (which may be the hash embedder, blind to word
 * order) and a full-text search (which ranks by term frequency, not by where terms meet). This
 * reranker rereads each candidate and rewards what both miss: covering more of the query's
 * distinctive words, and having them together in the query's order. A candidate scores the sum
 * of three parts, over the query's terms (lowercased, NFKC, lightly stemmed so `installing
 * servers` meets `install server`; English function words dropped unless the query has nothing
 * else):
 *
 * - coverage: BM25 (k1 1.2, b 0.75) over the candidate set. There are no corpus statistics at
 *   hand, so a term's IDF and the average length come from the candidates themselves: a term in
 *   every candidate separates none of them and weighs little; a rare one decides.
 * - proximity: for each pair of consecutive query terms, a bonus of half their mean IDF when the
 *   candidate has them in the query's order and no further apart than in the query; a quarter
 *   less for each extra word between them, none beyond three; the best occurrence counts.
 * - context: a quarter of a term's IDF when it appears in the context line (title › headings,
 *   the text before the first line break), which names what the whole passage is about.
 *
 * Scores compare candidates of one call only. Equal inputs give equal scores, so a stable sort
 * keeps the first-stage order between ties (see `rankByScore` in `rank.ts`).
 */
import { COMMON_ENGLISH_WORDS } from '../embedders/common-words.js';
import { stem } from '../embedders/hash.js';
import type { RerankCandidate, Reranker } from './types.js';

const K1 = 1.2;
const B = 0.75;
const PROXIMITY_WEIGHT = 0.5;
/** Extra words between two query terms (beyond their gap in the query) that still earn a bonus. */
const PROXIMITY_SLACK = 3;
const CONTEXT_WEIGHT = 0.25;

/**
 * English function words: in every passage, so they cannot tell passages apart. `can` too, which
 * the hash embedder keeps as a word (adding it there would change every `hash-v1` vector).
 */
const STOPWORDS: ReadonlySet<string> = new Set([...COMMON_ENGLISH_WORDS, 'can']);

/** Letters (with combining marks) and digits; everything else separates words. */
const WORD_CHAR = /^[\p{L}\p{M}\p{N}]$/u;

/** The query as the reranker uses it: distinct terms, and consecutive term pairs with their gap. */
interface QueryTerms {
  terms: Map<string, number>;
  /** `prefixOf` each term: a word with another prefix cannot stem to a term, so is not sliced. */
  prefixes: Set<number>;
  /** `[first term, second term, words apart in the query]`. */
  pairs: [number, number, number][];
}

/** What one candidate holds of the query, gathered in one pass over its words. */
interface CandidateStats {
  length: number;
  counts: Float64Array;
  inContext: Uint8Array;
  /** Best proximity weight (0 to 1) of each query pair. */
  proximity: Float64Array;
}

export class LexicalReranker implements Reranker {
  readonly id = 'lexical-v1';
  readonly maxBatchSize = Number.POSITIVE_INFINITY;

  async score(query: string, candidates: readonly RerankCandidate[]): Promise<number[]> {
    return scoreLexically(
      query,
      candidates.map((candidate) => candidate.text),
    );
  }

  async close(): Promise<void> {}
}

/** The scores of `LexicalReranker`, synchronously. */
export function scoreLexically(query: string, texts: readonly string[]): number[] {
  const parsed = parseQuery(query);
  if (parsed.terms.size === 0) return texts.map(() => 0);
  const stems = new Map<string, string>();
  const stats = texts.map((text) => readCandidate(text, parsed, stems));
  const idf = inverseDocumentFrequencies(stats, parsed.terms.size);
  const averageLength = stats.reduce((sum, s) => sum + s.length, 0) / Math.max(1, stats.length);
  return stats.map((s) => {
    let score = 0;
    const norm = K1 * (1 - B + (B * s.length) / Math.max(1, averageLength));
    for (let t = 0; t < idf.length; t++) {
      const tf = s.counts[t] ?? 0;
      const weight = idf[t] ?? 0;
      score += (weight * tf * (K1 + 1)) / (tf + norm);
      score += CONTEXT_WEIGHT * weight * (s.inContext[t] ?? 0);
    }
    for (const [p, [first, second]] of parsed.pairs.entries()) {
      const mean = ((idf[first] ?? 0) + (idf[second] ?? 0)) / 2;
      score += PROXIMITY_WEIGHT * mean * (s.proximity[p] ?? 0);
    }
    return score;
  });
}

function parseQuery(query: string): QueryTerms {
  const words = wordsOf(query);
  const content = words.filter((word) => !STOPWORDS.has(word.text));
  const kept = content.length > 0 ? content : words;
  const terms = new Map<string, number>();
  const pairs: [number, number, number][] = [];
  let previous: { term: number; position: number } | undefined;
  for (const word of kept) {
    const key = stem(word.text);
    let term = terms.get(key);
    if (term === undefined) {
      term = terms.size;
      terms.set(key, term);
    }
    if (previous !== undefined && previous.term !== term) {
      pairs.push([previous.term, term, word.position - previous.position]);
    }
    previous = { term, position: word.position };
  }
  const prefixes = new Set(Array.from(terms.keys(), (term) => prefixOf(term, 0, term.length)));
  return { terms, prefixes, pairs };
}

/**
 * The first two UTF-16 units of `text[start, end)` as one number (the second 0 for a one-unit
 * word). `stem` only rewrites the end of a word and keeps at least three letters, so a word and
 * its stem share this prefix.
 */
function prefixOf(text: string, start: number, end: number): number {
  const second = end - start > 1 ? text.charCodeAt(start + 1) : 0;
  return text.charCodeAt(start) * 0x10000 + second;
}

function wordsOf(text: string): { text: string; position: number }[] {
  const words: { text: string; position: number }[] = [];
  const normalized = text.normalize('NFKC').toLowerCase();
  forEachWord(normalized, (start, end) => {
    words.push({ text: normalized.slice(start, end), position: words.length });
  });
  return words;
}

/**
 * Calls `visit` with the bounds of each run of letters (with combining marks) and digits. The
 * same words as `/[\p{L}\p{M}\p{N}]+/gu`, four times faster: ASCII is classified by code, and
 * only other characters go through the Unicode regex.
 */
function forEachWord(text: string, visit: (start: number, end: number) => void): void {
  let start = -1;
  let i = 0;
  while (i <= text.length) {
    const code = i < text.length ? text.charCodeAt(i) : 32;
    let width = 1;
    let isWordChar: boolean;
    if (code < 128) {
      isWordChar =
        (code >= 97 && code <= 122) || (code >= 48 && code <= 57) || (code >= 65 && code <= 90);
    } else {
      if (isSurrogatePair(code, text.charCodeAt(i + 1))) width = 2;
      isWordChar = WORD_CHAR.test(text.slice(i, i + width));
    }
    if (isWordChar) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      visit(start, i);
      start = -1;
    }
    i += width;
  }
}

function isSurrogatePair(high: number, low: number): boolean {
  return high >= 0xd800 && high <= 0xdbff && low >= 0xdc00 && low <= 0xdfff;
}

function readCandidate(
  text: string,
  query: QueryTerms,
  stems: Map<string, string>,
): CandidateStats {
  const termCount = query.terms.size;
  const counts = new Float64Array(termCount);
  const inContext = new Uint8Array(termCount);
  const proximity = new Float64Array(query.pairs.length);
  const lastSeen = new Float64Array(termCount).fill(Number.NEGATIVE_INFINITY);
  const normalized = text.normalize('NFKC').toLowerCase();
  const contextEnd = Math.max(0, normalized.indexOf('\n'));
  let length = 0;
  let position = 0;
  let inBody = contextEnd === 0;
  forEachWord(normalized, (start, end) => {
    if (!inBody && start >= contextEnd) {
      inBody = true;
      // No proximity across the end of the context line.
      position += PROXIMITY_SLACK + 1;
    }
    length += 1;
    position += 1;
    if (!query.prefixes.has(prefixOf(normalized, start, end))) return;
    const word = normalized.slice(start, end);
    let key = stems.get(word);
    if (key === undefined) {
      key = stem(word);
      stems.set(word, key);
    }
    const term = query.terms.get(key);
    if (term !== undefined) {
      counts[term] = (counts[term] ?? 0) + 1;
      if (!inBody) inContext[term] = 1;
      lastSeen[term] = position;
      updateProximity(proximity, query.pairs, term, position, lastSeen);
    }
  });
  return { length, counts, inContext, proximity };
}

/** Credits each query pair that ends with `term` at `position` for its nearest earlier start. */
function updateProximity(
  proximity: Float64Array,
  pairs: readonly [number, number, number][],
  term: number,
  position: number,
  lastSeen: Float64Array,
): void {
  for (const [p, [first, second, queryGap]] of pairs.entries()) {
    if (second !== term) continue;
    const gap = position - (lastSeen[first] ?? Number.NEGATIVE_INFINITY);
    const excess = Math.max(0, gap - queryGap);
    if (gap < 1 || excess > PROXIMITY_SLACK) continue;
    const weight = 1 - excess / (PROXIMITY_SLACK + 1);
    if (weight > (proximity[p] ?? 0)) proximity[p] = weight;
  }
}

/** BM25's IDF, `ln(1 + (n − df + 0.5) / (df + 0.5))`: positive even for a term in every candidate. */
function inverseDocumentFrequencies(stats: readonly CandidateStats[], termCount: number): number[] {
  const n = stats.length;
  return Array.from({ length: termCount }, (_, t) => {
    const df = stats.reduce((sum, s) => sum + ((s.counts[t] ?? 0) > 0 ? 1 : 0), 0);
    return Math.log(1 + (n - df + 0.5) / (df + 0.5));
  });
}
