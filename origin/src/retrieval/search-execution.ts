import type pg from 'pg';
import type { Database } from '../db/database.js';
import { withTransaction } from '../db/transaction.js';
import { AppError } from '../errors.js';
import type { Site } from '../store/sites.js';
import { rankLexical } from './bm25.js';
import type { RankedHit } from './fusion.js';
import type { LexicalIndexes } from './lexical-indexes.js';
import { lexicalQueryText } from './query-text.js';
import type { SearchFilter, SearchHit, SearchRequest, SearchSettings } from './search-types.js';
import {
  type BoundSql,
  bind,
  CHUNK_DETAILS_SQL,
  CHUNK_TEXTS_SQL,
  filterSql,
  LEXICAL_STATE_SQL,
  lexicalSql,
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
   * Both lists of `request` to `depth`, read in one repeatable-read transaction: one snapshot
   * for the index version check and both lists, never a mix of two states.
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
    const statement = (mode: 'vector' | 'fulltext') =>
      retrievalStatement(site, { ...request, mode }, depth, vector, settings);
    return withTransaction(
      pool,
      async (client) => {
        const { rows } = await client.query<{
          version: number;
          lexical_chunks: number;
          lexical_length: number;
          terms: string[];
        }>(LEXICAL_STATE_SQL, [
          site.id,
          lexicalQueryText(request.query),
          String(Math.max(40, depth)),
        ]);
        const state = rows[0];
        if (state === undefined) throw new AppError('not_found', 'the site was deleted');
        const knn =
          request.mode === 'fulltext'
            ? null
            : listOf(client.query(statement('vector')), 'similarity');
        // Sent before the lexical ranking runs, so PostgreSQL walks the graph meanwhile.
        knn?.catch(() => {});
        let lexical: RankedHit[] | null = null;
        if (request.mode !== 'vector') {
          const index = hasFilter(request.filter)
            ? null
            : (this.deps.lexicalIndexes?.current(site.id, {
                version: state.version,
                lexicalChunks: state.lexical_chunks,
                lexicalLength: state.lexical_length,
              }) ?? null);
          lexical =
            index === null
              ? await listOf(client.query(statement('fulltext')), 'score')
              : rankLexical(index, state.terms, this.lexicalParams(), depth).map((hit) => ({
                  id: hit.id,
                  value: hit.score,
                }));
        }
        return { vector: knn === null ? null : await knn, lexical };
      },
      { isolation: 'repeatable read' },
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

  /** What a result shows of each chunk (a chunk deleted meanwhile is absent). */
  async details(
    ids: number[],
    pool: pg.Pool = this.deps.db.pool,
  ): Promise<Map<number, ChunkDetails>> {
    if (ids.length === 0) return new Map();
    const { rows } = await pool.query<DetailsRow>(CHUNK_DETAILS_SQL, [ids]);
    return new Map(rows.map((row) => [row.id, toDetails(row)]));
  }
}

interface DetailsRow {
  id: number;
  document_id: number;
  heading_path: string[];
  content: string;
  title: string;
  url: string | null;
  source: string;
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
