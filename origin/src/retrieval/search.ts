import type pg from 'pg';
import type { Database } from '../db/database.js';
import { readPoolFor } from '../db/read-router.js';
import type { Embedder } from '../embedders/types.js';
import { AppError } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { Reranker } from '../rerankers/types.js';
import { vectorLiteral } from '../store/chunks.js';
import type { Site } from '../store/sites.js';
import { rankLexical } from './bm25.js';
import { type FusedHit, fuseRanks, type RankedHit, singleList } from './fusion.js';
import type { LexicalIndexes } from './lexical-indexes.js';
import { lexicalQueryText } from './query-text.js';
import { type OffTopicEvidence, offTopicEvidence } from './relevance-gate.js';
import {
  type BoundSql,
  bind,
  CHUNK_DETAILS_SQL,
  filterSql,
  LEXICAL_STATE_SQL,
  lexicalSql,
  vectorSql,
} from './sql.js';

export type SearchMode = 'hybrid' | 'fulltext' | 'vector';

export interface SearchFilter {
  source?: string[] | undefined;
  metadata?: Record<string, string | number | boolean | null> | undefined;
}

export interface SearchRequest {
  query: string;
  k: number;
  mode: SearchMode;
  /** Rerank the top candidates; ignored when no reranker is configured. */
  rerank: boolean;
  filter?: SearchFilter | undefined;
  /** The query's embedding when the caller already has it (e.g. from the answer cache lookup). */
  queryVector?: Float32Array | undefined;
  /**
   * The reader's own words, when `query` was rewritten from a follow-up: the off-topic check
   * weighs only what the reader asked, never words a rewriting model added.
   */
  askedText?: string | undefined;
}

/** Why a result ranks where it does. Ranks are 1-based; null when the list did not hold it. */
export interface Scores {
  vectorRank: number | null;
  vectorSimilarity: number | null;
  fulltextRank: number | null;
  fulltextScore: number | null;
  fused: number;
  rerank: number | null;
}

export interface SearchHit {
  chunkId: number;
  documentId: number;
  title: string;
  url: string | null;
  source: string;
  headingPath: string[];
  text: string;
  scores: Scores;
}

export interface SearchResult {
  results: SearchHit[];
  /** True when the best result does not clear the relevance threshold: say "I don't know". */
  noGoodAnswer: boolean;
  relevance: {
    /** `terms`: refused because the question's specific words occur in no retrieved passage. */
    basis: 'rerank' | 'similarity' | 'fulltext' | 'terms' | 'none';
    best: number | null;
    threshold: number | null;
  };
}

export interface SearchSettings {
  bm25K1: number;
  bm25B: number;
  rrfK: number;
  vectorWeight: number;
  fulltextWeight: number;
  /** Candidates each list contributes at least, before fusion and reranking. */
  minDepth: number;
  rerankTopN: number;
  /** Pseudo-relevance feedback: chunks of the first pass read, terms added (0 turns it off). */
  feedbackDocs: number;
  feedbackTerms: number;
  /** Share of the expanded query's weight kept by the original terms. */
  originalWeight: number;
  /** Best vector similarity below which nothing is relevant (no reranker in play). */
  minSimilarity: number;
  /** Best rerank score below which nothing is relevant. */
  minRerankScore: number;
}

interface Candidate {
  id: number;
  scores: Scores;
}

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

/** Retrieved passages read for the question's words: the candidates of a usual search. */
const MAX_EVIDENCE_PASSAGES = 100;

/** True when the filter restricts anything (so a list must join chunks to documents). */
function hasFilter(filter: SearchFilter | undefined): boolean {
  return filterSql(filter ?? {}) !== '';
}

function toCandidate(hit: FusedHit): Candidate {
  const { id, ...scores } = hit;
  return { id, scores: { ...scores, rerank: null } };
}

/** pgvector's largest `hnsw.ef_search`. */
const MAX_EF_SEARCH = 1000;

/**
 * Hybrid retrieval: the vector kNN from pgvector and BM25 from the site's in-memory postings (or
 * from SQL when they are not loaded, or a filter applies), read in one repeatable-read
 * transaction, fused by reciprocal rank fusion, then the top candidates reranked in process.
 */
export class SearchService {
  constructor(
    private readonly deps: {
      db: Database;
      embedder: Embedder;
      reranker: Reranker | null;
      settings: SearchSettings;
      metrics?: Pick<Metrics, 'retrievalDuration'>;
      /** In-memory postings; without them every lexical list is ranked in SQL. */
      lexicalIndexes?: LexicalIndexes | undefined;
    },
  ) {}

  get settings(): SearchSettings {
    return this.deps.settings;
  }

  /** The in-memory postings this service ranks from, if any. */
  get lexicalIndexes(): LexicalIndexes | undefined {
    return this.deps.lexicalIndexes;
  }

  get reranker(): Reranker | null {
    return this.deps.reranker;
  }

  async search(site: Site, request: SearchRequest): Promise<SearchResult> {
    const { settings, embedder } = this.deps;
    const rerank = request.rerank && this.deps.reranker !== null;
    const depth = Math.min(
      MAX_EF_SEARCH,
      Math.max(request.k, settings.minDepth, rerank ? settings.rerankTopN : 0),
    );
    const needsVector = request.mode !== 'fulltext';
    if (
      needsVector &&
      site.embedder !== null &&
      (site.embedder !== embedder.id || site.embeddingDim !== embedder.dimension)
    ) {
      throw new AppError(
        'embedder_mismatch',
        `site "${site.name}" was indexed with ${site.embedder} (${site.embeddingDim} dimensions) but this origin embeds with ${embedder.id} (${embedder.dimension} dimensions); reindex the site to search it`,
      );
    }
    if (site.embedder === null)
      return {
        results: [],
        noGoodAnswer: true,
        relevance: { basis: 'none', best: null, threshold: null },
      };

    const vector = needsVector
      ? vectorLiteral(request.queryVector ?? (await embedder.embed([request.query]))[0]!)
      : null;
    // A replica serves the site only once it has replayed the site's latest content.
    const pool = await readPoolFor(this.deps.db, site);
    const timer = this.deps.metrics?.retrievalDuration.startTimer({ mode: request.mode });
    let candidates = await this.retrieve(site, request, depth, vector, pool);
    timer?.();
    let reranked = false;
    if (rerank && candidates.length > 0) {
      candidates = await this.rerank(request.query, candidates, pool);
      reranked = true;
    }
    const results = await this.details(candidates.slice(0, request.k), pool);
    const offTopic = await this.offTopic(request.askedText ?? request.query, candidates, pool);
    return { results, ...this.relevance(candidates, reranked, request.mode, offTopic) };
  }

  private async retrieve(
    site: Site,
    request: SearchRequest,
    depth: number,
    vector: string | null,
    pool: pg.Pool,
  ): Promise<Candidate[]> {
    const { settings } = this.deps;
    const statement = (mode: 'vector' | 'fulltext') =>
      retrievalStatement(site, { ...request, mode }, depth, vector, settings);
    const client = await pool.connect();
    try {
      // One snapshot for the version check and both lists: never a mix of two states.
      await client.query('begin isolation level repeatable read');
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
      const nearest = knn === null ? null : await knn;
      await client.query('commit');
      const fused =
        nearest === null
          ? singleList(lexical!, 'fulltext', settings.rrfK)
          : lexical === null
            ? singleList(nearest, 'vector', settings.rrfK)
            : fuseRanks(nearest, lexical, settings, depth);
      return fused.map(toCandidate);
    } catch (error) {
      await client.query('rollback').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
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

  /** Reranks the top N fused candidates; the rest keep their fused order after them. */
  private async rerank(
    query: string,
    candidates: Candidate[],
    pool: pg.Pool,
  ): Promise<Candidate[]> {
    const reranker = this.deps.reranker!;
    const head = candidates.slice(0, this.deps.settings.rerankTopN);
    const texts = await this.texts(
      head.map((c) => c.id),
      pool,
    );
    const scores = await reranker.score(
      query,
      head.map((c) => ({ id: c.id, text: texts.get(c.id) ?? '' })),
    );
    const rescored = head.map((c, i) => ({ ...c, scores: { ...c.scores, rerank: scores[i]! } }));
    rescored.sort(
      (a, b) =>
        b.scores.rerank! - a.scores.rerank! || b.scores.fused - a.scores.fused || a.id - b.id,
    );
    return [...rescored, ...candidates.slice(head.length)];
  }

  /** Whether the question's specific words are missing from every retrieved passage. */
  private async offTopic(
    query: string,
    candidates: Candidate[],
    pool: pg.Pool,
  ): Promise<OffTopicEvidence> {
    const texts = await this.texts(
      candidates.slice(0, MAX_EVIDENCE_PASSAGES).map((c) => c.id),
      pool,
    );
    return offTopicEvidence(query, [...texts.values()]);
  }

  private relevance(
    candidates: Candidate[],
    reranked: boolean,
    mode: SearchMode,
    evidence: OffTopicEvidence,
  ): Pick<SearchResult, 'noGoodAnswer' | 'relevance'> {
    const { settings } = this.deps;
    if (candidates.length === 0)
      return { noGoodAnswer: true, relevance: { basis: 'none', best: null, threshold: null } };
    // Words of the question that no retrieved passage mentions outweigh any score: the
    // documents do not talk about it (see relevance-gate.ts).
    if (evidence.offTopic)
      return {
        noGoodAnswer: true,
        relevance: { basis: 'terms', best: evidence.mass, threshold: null },
      };
    // Only a cross-encoder's logit means the same thing across queries; the lexical reranker's
    // score depends on the candidate set, so relevance then falls back to vector similarity.
    if (reranked && this.deps.reranker!.id.startsWith('cross-encoder')) {
      const best = Math.max(...candidates.map((c) => c.scores.rerank ?? Number.NEGATIVE_INFINITY));
      return {
        noGoodAnswer: best < settings.minRerankScore,
        relevance: { basis: 'rerank', best, threshold: settings.minRerankScore },
      };
    }
    if (mode === 'fulltext')
      return {
        noGoodAnswer: false,
        relevance: {
          basis: 'fulltext',
          best: candidates[0]!.scores.fulltextScore,
          threshold: null,
        },
      };
    const best = Math.max(
      ...candidates.map((c) => c.scores.vectorSimilarity ?? Number.NEGATIVE_INFINITY),
    );
    return {
      noGoodAnswer: best < settings.minSimilarity,
      relevance: { basis: 'similarity', best, threshold: settings.minSimilarity },
    };
  }

  private async texts(ids: number[], pool: pg.Pool): Promise<Map<number, string>> {
    const { rows } = await pool.query<{
      id: number;
      context: string;
      content: string;
    }>('select id, context, content from chunks where id = any($1::bigint[])', [ids]);
    return new Map(rows.map((row) => [row.id, `${row.context}\n${row.content}`]));
  }

  private async details(top: Candidate[], pool: pg.Pool): Promise<SearchHit[]> {
    if (top.length === 0) return [];
    const { rows } = await pool.query<{
      id: number;
      document_id: number;
      heading_path: string[];
      content: string;
      title: string;
      url: string | null;
      source: string;
    }>(CHUNK_DETAILS_SQL, [top.map((c) => c.id)]);
    const byId = new Map(rows.map((row) => [row.id, row]));
    return top.flatMap((c) => {
      const row = byId.get(c.id);
      if (row === undefined) return [];
      return [
        {
          chunkId: row.id,
          documentId: row.document_id,
          title: row.title,
          url: row.url,
          source: row.source,
          headingPath: row.heading_path,
          text: row.content,
          scores: c.scores,
        },
      ];
    });
  }
}

/** A ranked list's rows (best first) as hits, reading `column` as the value. */
async function listOf(
  result: Promise<{ rows: Array<Record<string, unknown>> }>,
  column: 'similarity' | 'score',
): Promise<RankedHit[]> {
  const { rows } = await result;
  return rows.map((row) => ({ id: row.id as number, value: row[column] as number }));
}
