import type pg from 'pg';
import type { Database } from '../db/database.js';
import { withSnapshot } from '../db/transaction.js';
import { AppError } from '../errors.js';
import type { Site } from '../store/sites.js';
import { rankLexical } from './bm25.js';
import { joinsOf, withCompounds } from './compounds.js';
import type { RankedHit } from './fusion.js';
import type { LexicalIndexes } from './lexical-indexes.js';
import type { PostingsIndex } from './postings-index.js';
import { lexicalQueryText } from './query-text.js';
import type { SearchFilter, SearchHit, SearchRequest, SearchSettings } from './search-types.js';
import { respell, spellingWords, unknownWords } from './spelling.js';
import {
  type BoundSql,
  bind,
  CHUNK_DETAILS_SQL,
  CHUNK_TEXTS_SQL,
  filterSql,
  KNOWN_TERMS_SQL,
  lexicalSql,
  SEARCH_STATE_SQL,
  vectorSql,
} from './sql.js';

/**
 * The SQL statement of one ranked list (vector kNN, or BM25 with feedback) of a search, bound:
 * what `SearchService` runs when the list is not served from memory, exported so that tests and
 * the benchmark can run the same statement.
 */
export function retrievalStatement(
  site: Pick<Site, 'id' | 'embeddingDim'>,
  request: { mode: 'vector' | 'fulltext'; query: string; filter?: SearchFilter | undefined },
  depth: number,
  vector: string | null,
  settings: SearchSettings,
): BoundSql {
  const filter = filterSql(request.filter ?? {});
  const sql =
    request.mode === 'vector' ? vectorSql(site.embeddingDim ?? 0, filter) : lexicalSql(filter);
  return bind(sql, {
    site: site.id,
    vector,
    query: lexicalQueryText(request.query),
    depth,
    ...bm25Params(settings),
    sources: request.filter?.source ?? null,
    metadata:
      request.filter?.metadata === undefined ? null : JSON.stringify(request.filter.metadata),
  });
}

/** The lexical ranker's parameters from the settings (feedback off: the original weight is 1). */
function bm25Params(settings: SearchSettings) {
  const feedback = settings.feedbackDocs > 0 && settings.feedbackTerms > 0;
  return {
    k1: settings.bm25K1,
    b: settings.bm25B,
    feedback_docs: settings.feedbackDocs,
    feedback_terms: settings.feedbackTerms,
    original_weight: feedback ? settings.originalWeight : 1,
  };
}

/** True when the filter restricts anything (so a list must join chunks to documents). */
function hasFilter(filter: SearchFilter | undefined): boolean {
  return filterSql(filter ?? {}) !== '';
}

/** The ranked lists of one search, best first; a list the mode does not use is null. */
export interface RankedLists {
  /** pgvector's kNN by cosine similarity (`value` is the similarity). */
  vector: RankedHit[] | null;
  /** BM25 with pseudo-relevance feedback (`value` is the score). */
  lexical: RankedHit[] | null;
}

/** A chunk as a search result shows it, without its scores. */
export type ChunkDetails = Omit<SearchHit, 'scores'>;

/**
 * Runs a search's reads: the vector kNN in pgvector, BM25 from the site's in-memory postings (or
 * in SQL when they are not loaded, or a filter applies), and the chunks' texts and details. It
 * decides nothing about ranking: fusion, reranking and the relevance gate are `SearchService`'s.
 */
export class SearchExecution {
  constructor(
    private readonly deps: {
      db: Database;
      settings: SearchSettings;
      /** In-memory postings; without them every lexical list is ranked in SQL. */
      lexicalIndexes?: LexicalIndexes | undefined;
    },
  ) {}

  /**
   * Both lists of `request` to `depth`, read in one read-only repeatable-read transaction: one
   * snapshot for the index version check and both lists, never a mix of two states. BM25 reads
   * the query with the words no document holds respelt as the site spells them (`spelling.ts`).
   */
  async rankedLists(
    site: Site,
    request: SearchRequest,
    depth: number,
    vector: string | null,
    /** The primary's pool, or a replica that has caught up with the site (`readPoolFor`). */
    pool: pg.Pool = this.deps.db.pool,
  ): Promise<RankedLists> {
    const { settings } = this.deps;
    return withSnapshot(pool, async (client) => {
      const ef = String(Math.max(40, depth));
      const lexical = request.mode !== 'vector';
      let query = request.query;
      const words = lexical ? spellingWords(query) : [];
      const joins = lexical ? joinsOf(query) : [];
      let state = await readState(client, site.id, query, ef, [...words, ...joins]);
      let index = lexical ? this.heldIndex(site, request, state) : null;
      const held = index;
      const known =
        held === null
          ? await knownTerms(client, site.id, state.word_lexemes)
          : (lexeme: string) => held.terms.has(lexeme);
      const unknown = unknownWords(words, state.word_lexemes.slice(0, words.length), known);
      // BM25 reads the query spelt as the site's documents spell it ("middlware" → middleware),
      // and with the site's compound names of consecutive words ("set cookie" → setCookie).
      const spelt = withCompounds(
        unknown.length > 0 ? await respell(client, site.id, query, unknown) : query,
        joins,
        state.word_lexemes.slice(words.length),
        known,
      );
      if (spelt !== query) {
        query = spelt;
        state = await readState(client, site.id, query, ef, []);
        index = this.heldIndex(site, request, state);
      }
      const statement = (mode: 'vector' | 'fulltext') =>
        retrievalStatement(site, { ...request, query, mode }, depth, vector, settings);
      const knn =
        request.mode === 'fulltext'
          ? null
          : listOf(client.query(statement('vector')), 'similarity');
      // Sent before the lexical ranking runs, so PostgreSQL walks the graph meanwhile.
      knn?.catch(() => {});
      let ranked: RankedHit[] | null = null;
      if (lexical) {
        ranked =
          index === null
            ? await listOf(client.query(statement('fulltext')), 'score')
            : rankLexical(index, state.terms, this.lexicalParams(), depth).map((hit) => ({
                id: hit.id,
                value: hit.score,
              }));
      }
      return { vector: knn === null ? null : await knn, lexical: ranked };
    });
  }

  /** The site's in-memory postings at the state's version, when the request may use them. */
  private heldIndex(site: Site, request: SearchRequest, state: SearchState): PostingsIndex | null {
    if (hasFilter(request.filter)) return null;
    return (
      this.deps.lexicalIndexes?.current(site.id, {
        version: state.version,
        lexicalChunks: state.lexical_chunks,
        lexicalLength: state.lexical_length,
      }) ?? null
    );
  }

  private lexicalParams() {
    const p = bm25Params(this.deps.settings);
    return {
      k1: p.k1,
      b: p.b,
      feedbackDocs: p.feedback_docs,
      feedbackTerms: p.feedback_terms,
      originalWeight: p.original_weight,
    };
  }

  /** Each chunk's context line and content, as the reranker and the relevance gate read it. */
  async texts(ids: number[], pool: pg.Pool = this.deps.db.pool): Promise<Map<number, string>> {
    const { rows } = await pool.query<{
      id: number;
      context: string;
      content: string;
    }>(CHUNK_TEXTS_SQL, [ids]);
    return new Map(rows.map((row) => [row.id, `${row.context}\n${row.content}`]));
  }

  /**
   * What a result shows of each chunk, and its text as the relevance gate reads it (context line
   * and content), in one read; a chunk deleted meanwhile is absent.
   */
  async passages(
    ids: number[],
    pool: pg.Pool = this.deps.db.pool,
  ): Promise<Map<number, { details: ChunkDetails; text: string }>> {
    if (ids.length === 0) return new Map();
    const { rows } = await pool.query<DetailsRow>(CHUNK_DETAILS_SQL, [ids]);
    return new Map(
      rows.map((row) => [
        row.id,
        { details: toDetails(row), text: `${row.context}\n${row.content}` },
      ]),
    );
  }
}

/** Whether the site's documents hold a lexeme, read from SQL (the postings are not held). */
async function knownTerms(
  client: Pick<pg.PoolClient, 'query'>,
  siteId: number,
  lexemes: readonly string[],
): Promise<(lexeme: string) => boolean> {
  const asked = lexemes.filter((lexeme) => lexeme !== '');
  if (asked.length === 0) return () => true;
  const { rows } = await client.query<{ term: string }>(KNOWN_TERMS_SQL, [siteId, asked]);
  const known = new Set(rows.map((row) => row.term));
  return (lexeme) => known.has(lexeme);
}

interface DetailsRow {
  id: number;
  document_id: number;
  heading_path: string[];
  context: string;
  content: string;
  title: string;
  url: string | null;
  source: string;
}

interface SearchState {
  version: number;
  lexical_chunks: number;
  lexical_length: number;
  terms: string[];
  /** The lexeme of each word asked about, in order ('' for a stop word). */
  word_lexemes: string[];
}

/** The site's index version and the query's lexemes, and the words no document holds. */
async function readState(
  client: Pick<pg.PoolClient, 'query'>,
  siteId: number,
  query: string,
  ef: string,
  words: string[],
): Promise<SearchState> {
  const { rows } = await client.query<SearchState>(SEARCH_STATE_SQL, [
    siteId,
    lexicalQueryText(query),
    ef,
    words,
  ]);
  const state = rows[0];
  if (state === undefined) throw new AppError('not_found', 'the site was deleted');
  return state;
}

/** A details row as a result shows it (the chunk's text is its content, without the context). */
function toDetails(row: DetailsRow): ChunkDetails {
  // Field by field: the row holds the context line too, which a result does not show.
  const { id, document_id, heading_path, content, title, url, source } = row;
  return {
    chunkId: id,
    documentId: document_id,
    title,
    url,
    source,
    headingPath: heading_path,
    text: content,
  };
}

/** A ranked list's rows (best first) as hits, reading `column` as the value. */
async function listOf(
  result: Promise<{ rows: Array<Record<string, unknown>> }>,
  column: 'similarity' | 'score',
): Promise<RankedHit[]> {
  const { rows } = await result;
  return rows.map((row) => ({ id: row.id as number, value: row[column] as number }));
}
