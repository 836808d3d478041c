import { SMART_STOPWORDS } from './stopwords.js';

/**
 * The query as the lexical ranker reads it: common English function words removed with the
 * SMART list, which is longer than PostgreSQL's own (questions such as "what are the available
 * methods…" otherwise spend weight on "available"). Words are split on anything that is not a
 * letter or a digit, so other languages pass through untouched. A query made only of such words
 * is kept whole rather than emptied.
 */
export function lexicalQueryText(query: string): string {
  const words = query.split(/[^\p{L}\p{N}']+/u).filter((word) => word !== '');
  const kept = words.filter((word) => !SMART_STOPWORDS.has(word.toLowerCase()));
  return kept.length === 0 ? query : kept.join(' ');
}
