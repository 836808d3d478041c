/**
 * Compound words for the lexical query: code names things by joining words (`setCookie`,
 * `deleteCookie`, `notFound`), and full-text search indexes such a name as one term, so "set a
 * cookie" never meets `setCookie(c, …)`. Two consecutive words of the query are joined and the
 * join is added to the query when the site's documents hold it as a term. The joins' lexemes ride
 * the search's first statement with spelling's words, so a site without such names pays nothing.
 */
import { SMART_STOPWORDS } from './stopwords.js';

/** Joins looked up per query: bounded work. */
const MAX_JOINS = 24;

/**
 * Candidate joins: each word with the next, and each content word with the next content word
 * ("set a cookie" gives `setcookie`), ASCII letters only (as spelling reads words), each part of
 * two letters or more.
 */
export function joinsOf(query: string): string[] {
  const words = (query.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? []).filter((w) =>
    /^[a-z]+$/.test(w),
  );
  const content = words.filter((word) => !SMART_STOPWORDS.has(word));
  const joins = new Set<string>();
  for (const list of [words, content])
    for (let i = 1; i < list.length; i++)
      if (list[i - 1]!.length >= 2 && list[i]!.length >= 2) joins.add(list[i - 1]! + list[i]!);
  return [...joins].slice(0, MAX_JOINS);
}

/** The query with the joins whose lexemes (in the same order) the site holds appended. */
export function withCompounds(
  query: string,
  joins: readonly string[],
  lexemes: readonly string[],
  known: (lexeme: string) => boolean,
): string {
  const held = joins.filter((_, i) => {
    const lexeme = lexemes[i] ?? '';
    return lexeme !== '' && known(lexeme);
  });
  return held.length === 0 ? query : `${query} ${held.join(' ')}`;
}
