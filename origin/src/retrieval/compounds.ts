/**
 * Compound words for the lexical query: code names things by joining words (`setCookie`,
 * `deleteCookie`, `notFound`), and full-text search indexes such a name as one term, so "set a
 * cookie" never meets `setCookie(c, …)`. Two consecutive words of the query are joined and the
 * join is added to the query when the site's documents hold it as a term; a site without such
 * names gains nothing and pays one small statement.
 */
import type pg from 'pg';
import { QUERY_WORD_TERMS_SQL } from './sql.js';
import { SMART_STOPWORDS } from './stopwords.js';

/** Joins looked up per query: bounded work. */
const MAX_JOINS = 24;

/** The query with the site's compound terms of its consecutive words appended. */
export async function withCompounds(
  db: Pick<pg.Pool, 'query'>,
  siteId: number,
  query: string,
): Promise<string> {
  const joins = joinsOf(query);
  if (joins.length === 0) return query;
  const { rows } = await db.query<{ word: string; lexeme: string; known: boolean }>(
    QUERY_WORD_TERMS_SQL,
    [siteId, joins],
  );
  const known = rows.filter((row) => row.known).map((row) => row.word);
  return known.length === 0 ? query : `${query} ${known.join(' ')}`;
}

/**
 * Candidate joins: each word with the next, and each content word with the next content word
 * ("set a cookie" gives `seta`, `acookie` and `setcookie`), letters only.
 */
export function joinsOf(query: string): string[] {
  const words = (query.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? []).filter((w) =>
    /^\p{L}+$/u.test(w),
  );
  const content = words.filter((word) => !SMART_STOPWORDS.has(word));
  const joins = new Set<string>();
  for (const list of [words, content])
    for (let i = 1; i < list.length; i++)
      if (list[i - 1]!.length >= 2 && list[i]!.length >= 2) joins.add(list[i - 1]! + list[i]!);
  return [...joins].slice(0, MAX_JOINS);
}
