/**
 * Spelling correction of a query against the site's own vocabulary: readers type "middlware" or
 * "adress", and BM25 finds nothing for a word no document holds. A word of five letters or more
 * whose term is absent from the site is replaced by the site's most frequent term within one
 * edit (two for words of eight letters or more) that starts with the same letter. Words the site
 * holds are never touched, so a query that is spelt right costs one small statement.
 */
import type pg from 'pg';
import { withinEdits } from './edit-distance.js';
import { QUERY_WORD_TERMS_SQL, SPELLING_CANDIDATES_SQL } from './sql.js';

/** Shorter words have too many neighbours one edit away to guess which was meant. */
const MIN_WORD_LENGTH = 5;
/** Words per query looked at, and candidates read per misspelt word: bounded work. */
const MAX_WORDS = 16;
const MAX_CANDIDATES = 5_000;

/** The query with its misspelt words replaced by the site's nearest terms (as lexemes). */
export async function correctSpelling(
  db: Pick<pg.Pool, 'query'>,
  siteId: number,
  query: string,
): Promise<string> {
  const words = [
    ...new Set(
      (query.match(/\p{L}+/gu) ?? [])
        .filter((word) => word.length >= MIN_WORD_LENGTH && /^[a-z]+$/i.test(word))
        .map((word) => word.toLowerCase()),
    ),
  ].slice(0, MAX_WORDS);
  if (words.length === 0) return query;
  const { rows } = await db.query<{ word: string; lexeme: string; known: boolean }>(
    QUERY_WORD_TERMS_SQL,
    [siteId, words],
  );
  const fixes = new Map<string, string>();
  for (const { word, lexeme, known } of rows) {
    if (known || lexeme === '') continue;
    const fix = await nearestTerm(db, siteId, lexeme);
    if (fix !== null) fixes.set(word, fix);
  }
  if (fixes.size === 0) return query;
  return query.replace(/\p{L}+/gu, (word) => fixes.get(word.toLowerCase()) ?? word);
}

async function nearestTerm(
  db: Pick<pg.Pool, 'query'>,
  siteId: number,
  lexeme: string,
): Promise<string | null> {
  const limit = lexeme.length >= 8 ? 2 : 1;
  const first = lexeme[0]!;
  const next = String.fromCharCode(first.charCodeAt(0) + 1);
  const { rows } = await db.query<{ term: string }>(SPELLING_CANDIDATES_SQL, [
    siteId,
    first,
    next,
    lexeme.length - limit,
    lexeme.length + limit,
    MAX_CANDIDATES,
  ]);
  // Most frequent first: the first term within reach is the likeliest meant.
  for (const { term } of rows)
    if (/^[a-z]+$/.test(term) && withinEdits(lexeme, term, limit)) return term;
  return null;
}
