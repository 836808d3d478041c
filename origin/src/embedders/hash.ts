/**
 * The built-in offline embedder: feature hashing of words (lightly stemmed, English function
 * words down-weighted), word bigrams and character trigrams. No model, no I/O, deterministic
 * across processes and machines. It captures lexical overlap (shared words, word forms,
 * spelling), not meaning; pair it with a real model when one is available.
 *
 * Any change to the features, weights or hash changes every vector: give it a new `id`
 * (`hash-v2`) so that an index built with the old one is detected.
 */
import { COMMON_ENGLISH_WORDS } from './common-words.js';
import type { Embedder } from './types.js';

export interface HashEmbedderOptions {
  /** Vector length. Default 384 (the size of the MiniLM models, so columns can be swapped). */
  dimension?: number;
}

/** Feature weights relative to a word: bigrams and trigrams refine, words dominate. */
const WORD_WEIGHT = 1;
const BIGRAM_WEIGHT = 0.5;
const TRIGRAM_WEIGHT = 0.25;

/** Hash seeds, one per feature kind, so a word and a trigram with the same letters differ. */
const WORD_SEED = 0x811c9dc5;
const TRIGRAM_SEED = 0x050c5d1f;
const BIGRAM_SEED = 0x2c1b3c6d;

/**
 * English function words: they carry little of what a passage is about, yet are in every one, so
 * they get a tenth of a word's weight and no trigrams.
 */
const STOPWORDS: ReadonlySet<string> = new Set(COMMON_ENGLISH_WORDS);
const STOPWORD_WEIGHT = 0.1;

/** Letters (with combining marks) and digits; everything else separates words. */
const WORD_PATTERN = /[\p{L}\p{M}\p{N}]+/gu;
const ASCII_WORD = /^[a-z]+$/;

/** FNV-1a over the UTF-16 code units of `text[start, end)`, then a murmur3 finalizer to spread the bits. */
function fnv1a(text: string, start: number, end: number, seed: number): number {
  let hash = seed;
  for (let i = start; i < end; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return fmix32(hash);
}

/** The murmur3 finalizer: every input bit affects every output bit. */
function fmix32(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Conservative English suffix stripping, for lowercase ASCII words of four letters or more, one
 * rule at most, leaving a stem of at least three letters (four or five for the rarer suffixes):
 *
 * - plurals: `-ies` → `-y` (policies → policy), `-sses` → `-ss` (classes → class), `-xes` → `-x`
 *   (indexes → index), else `-s` unless the word ends in `-ss`, `-us` or `-is` (servers →
 *   server; status, analysis stay);
 * - `-ing` (installing → install) and `-ed` (deployed → deploy), undoubling a final consonant
 *   (running → run, embedded → embed);
 * - `-ly` (quickly → quick).
 *
 * It prefers missing a form to merging two words, so it misses `-e` restorations (making, make),
 * `-ches` plurals and irregular forms; the character trigrams carry most of what it misses.
 */
export function stem(word: string): string {
  if (word.length < 4 || !ASCII_WORD.test(word)) return word;
  if (word.endsWith('ies') && word.length >= 5) return `${word.slice(0, -3)}y`;
  if (word.endsWith('sses') || word.endsWith('xes')) return word.slice(0, -2);
  if (word.endsWith('s')) return /(?:ss|us|is)$/.test(word) ? word : word.slice(0, -1);
  if (word.endsWith('ing') && word.length >= 7) return undouble(word.slice(0, -3));
  if (word.endsWith('ed') && word.length >= 6) return undouble(word.slice(0, -2));
  if (word.endsWith('ly') && word.length >= 7) return word.slice(0, -2);
  return word;
}

/** `runn` → `run`, `stopp` → `stop`; `ll`, `ss`, `zz` stay (install, pass, buzz). */
function undouble(stemmed: string): string {
  const last = stemmed.at(-1);
  if (last !== undefined && last === stemmed.at(-2) && !'aeioulsz'.includes(last)) {
    return stemmed.slice(0, -1);
  }
  return stemmed;
}

export class HashEmbedder implements Embedder {
  readonly id = 'hash-v1';
  readonly dimension: number;
  readonly maxBatchSize = 256;

  constructor(options: HashEmbedderOptions = {}) {
    const dimension = options.dimension ?? 384;
    if (!Number.isInteger(dimension) || dimension < 2) {
      throw new RangeError(`dimension must be an integer of at least 2, got ${dimension}`);
    }
    this.dimension = dimension;
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    if (texts.length > this.maxBatchSize) {
      throw new RangeError(
        `${this.id}: batch of ${texts.length} exceeds maxBatchSize ${this.maxBatchSize}`,
      );
    }
    return texts.map((text) => this.embedOne(text));
  }

  async close(): Promise<void> {}

  /**
   * Counts each hashed feature, weighs it `weight × (1 + ln tf)`, adds it to bucket
   * `hash mod dimension` with the sign of the hash's top bit, then L2-normalizes. A text without
   * any word (empty, only punctuation) embeds to the unit vector on dimension 0, so cosine
   * distance stays defined (a zero vector would give NaN in pgvector).
   */
  embedOne(text: string): Float32Array {
    const words = new Map<number, number>();
    const stopwords = new Map<number, number>();
    const bigrams = new Map<number, number>();
    const trigrams = new Map<number, number>();
    let previous: number | undefined;
    for (const match of text.normalize('NFKC').toLowerCase().matchAll(WORD_PATTERN)) {
      const word = match[0];
      const stemmed = stem(word);
      const wordHash = fnv1a(stemmed, 0, stemmed.length, WORD_SEED);
      if (previous !== undefined) {
        increment(bigrams, fmix32(Math.imul(previous, 0x9e3779b1) ^ wordHash ^ BIGRAM_SEED));
      }
      previous = wordHash;
      if (STOPWORDS.has(word)) {
        increment(stopwords, wordHash);
        continue;
      }
      increment(words, wordHash);
      const marked = `<${word}>`;
      for (let i = 0; i + 3 <= marked.length; i++) {
        increment(trigrams, fnv1a(marked, i, i + 3, TRIGRAM_SEED));
      }
    }

    const vector = new Float32Array(this.dimension);
    if (words.size === 0 && stopwords.size === 0) {
      vector[0] = 1;
      return vector;
    }
    this.addFeatures(vector, words, WORD_WEIGHT);
    this.addFeatures(vector, stopwords, STOPWORD_WEIGHT);
    this.addFeatures(vector, bigrams, BIGRAM_WEIGHT);
    this.addFeatures(vector, trigrams, TRIGRAM_WEIGHT);
    return normalize(vector);
  }

  private addFeatures(vector: Float32Array, counts: Map<number, number>, weight: number): void {
    for (const [hash, tf] of counts) {
      const value = weight * (1 + Math.log(tf));
      const bucket = (hash & 0x7fffffff) % this.dimension;
      vector[bucket] = (vector[bucket] ?? 0) + (hash & 0x80000000 ? -value : value);
    }
  }
}

function increment(counts: Map<number, number>, key: number): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/** Scales to unit length; a vector whose features all cancelled out falls back to dimension 0. */
function normalize(vector: Float32Array): Float32Array {
  let sum = 0;
  for (const value of vector) sum += value * value;
  if (sum === 0) {
    vector[0] = 1;
    return vector;
  }
  const scale = 1 / Math.sqrt(sum);
  for (let i = 0; i < vector.length; i++) vector[i] = (vector[i] ?? 0) * scale;
  return vector;
}
