/**
 * Spelling correction of a query against the site's own vocabulary: readers type "middlware" or
 * "adress", and BM25 finds nothing for a word no document holds. A word of five letters or more
 * whose term is absent from the site is replaced by the site's most frequent term within one
 * edit (two for words of eight letters or more) that starts with the same letter. Words the site
 * holds are never touched; their lexemes come with the search's first statement
 * (`SEARCH_STATE_SQL`) and are looked up in the site's in-memory postings when it holds them, so
 * a query that is spelt right costs nothing more.
 */
import type pg from 'pg';
import { withinEdits } from './edit-distance.js';
import { SPELLING_CANDIDATES_SQL } from './sql.js';

/** Shorter words have too many neighbours one edit away to guess which was meant. */
const MIN_WORD_LENGTH = 5;
/** Words per query looked at, and candidates read per misspelt word: bounded work. */
const MAX_WORDS = 16;
const MAX_CANDIDATES = 5_000;

/** A query word whose lexeme no document of the site holds. */
export interface UnknownWord {
  word: string;
  lexeme: string;
}

/**
 * The words (`spellingWords`) whose lexemes (`SEARCH_STATE_SQL`'s `word_lexemes`, in the same
 * order) the site does not hold; a stop word (no lexeme) is never one.
 */
export function unknownWords(
  words: readonly string[],
  lexemes: readonly string[],
  known: (lexeme: string) => boolean,
): UnknownWord[] {
  return words.flatMap((word, i) => {
    const lexeme = lexemes[i] ?? '';
    return lexeme === '' || known(lexeme) ? [] : [{ word, lexeme }];
  });
}

/** The query's words spelling correction may look at: lowercased, distinct, bounded. */
export function spellingWords(query: string): string[] {
  return [
    ...new Set(
      (query.match(/\p{L}+/gu) ?? [])
        .filter((word) => word.length >= MIN_WORD_LENGTH && /^[a-z]+$/i.test(word))
        .map((word) => word.toLowerCase()),
    ),
  ].slice(0, MAX_WORDS);
}

/** The query with its unknown words replaced by the site's nearest terms (as lexemes). */
export async function respell(
  db: Pick<pg.Pool, 'query'>,
  siteId: number,
  query: string,
  unknown: readonly UnknownWord[],
): Promise<string> {
  const fixes = new Map<string, string>();
  for (const { word, lexeme } of unknown) {
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
