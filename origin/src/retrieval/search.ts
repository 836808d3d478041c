import type { Database } from '../db/database.js';
import type { Embedder } from '../embedders/types.js';
import { AppError } from '../errors.js';
import type { Reranker } from '../rerankers/types.js';
import { vectorLiteral } from '../store/chunks.js';
import type { Site } from '../store/sites.js';
import { CHUNK_DETAILS_SQL, filterSql, hybridSql, lexicalSql, vectorSql } from './sql.js';

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
    basis: 'rerank' | 'similarity' | 'fulltext' | 'none';
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
  /** Best vector similarity below which nothing is relevant (no reranker in play). */
  minSimilarity: number;
  /** Best rerank score below which nothing is relevant. */
  minRerankScore: number;
}

interface Candidate {
  id: number;
  scores: Scores;
}

/** pgvector's largest `hnsw.ef_search`. */
const MAX_EF_SEARCH = 1000;

/**
 * Hybrid retrieval: vector kNN and BM25 inside PostgreSQL, fused by reciprocal rank fusion in
 * the same statement, then the top candidates reranked in process.
 */
export class SearchService {
  constructor(
    private readonly deps: {
      db: Database;
      embedder: Embedder;
      reranker: Reranker | null;
      settings: SearchSettings;
    },
  ) {}

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

    const vector = needsVector ? vectorLiteral((await embedder.embed([request.query]))[0]!) : null;
    let candidates = await this.retrieve(site, request, depth, vector);
    let reranked = false;
    if (rerank && candidates.length > 0) {
      candidates = await this.rerank(request.query, candidates);
      reranked = true;
    }
    const results = await this.details(candidates.slice(0, request.k));
    return { results, ...this.relevance(candidates, reranked, request.mode) };
  }

  private async retrieve(
    site: Site,
    request: SearchRequest,
    depth: number,
    vector: string | null,
  ): Promise<Candidate[]> {
    const { settings } = this.deps;
    const filter = request.filter ?? {};
    const client = await this.deps.db.pool.connect();
    try {
      await client.query('begin');
      if (vector !== null) {
        await client.query(
          "select set_config('hnsw.ef_search', $1, true), set_config('hnsw.iterative_scan', 'relaxed_order', true)",
          [String(Math.max(40, depth))],
        );
      }
      let rows: Candidate[];
      if (request.mode === 'vector') {
        const f = filterSql(filter, 4);
        const result = await client.query<{ id: number; similarity: number; rank: number }>(
          vectorSql(site.embeddingDim!, f.clause),
          [site.id, vector, depth, ...f.params],
        );
        rows = result.rows.map((row) => ({
          id: row.id,
          scores: {
            vectorRank: row.rank,
            vectorSimilarity: row.similarity,
            fulltextRank: null,
            fulltextScore: null,
            fused: 1 / (settings.rrfK + row.rank),
            rerank: null,
          },
        }));
      } else if (request.mode === 'fulltext') {
        const f = filterSql(filter, 6);
        const result = await client.query<{ id: number; score: number; rank: number }>(
          lexicalSql(f.clause),
          [site.id, request.query, depth, settings.bm25K1, settings.bm25B, ...f.params],
        );
        rows = result.rows.map((row) => ({
          id: row.id,
          scores: {
            vectorRank: null,
            vectorSimilarity: null,
            fulltextRank: row.rank,
            fulltextScore: row.score,
            fused: 1 / (settings.rrfK + row.rank),
            rerank: null,
          },
        }));
      } else {
        const f = filterSql(filter, 10);
        const result = await client.query<{
          id: number;
          vector_rank: number | null;
          vector_similarity: number | null;
          lexical_rank: number | null;
          lexical_score: number | null;
          fused: number;
        }>(hybridSql(site.embeddingDim!, f.clause), [
          site.id,
          vector,
          depth,
          settings.bm25K1,
          settings.bm25B,
          request.query,
          settings.rrfK,
          settings.vectorWeight,
          settings.fulltextWeight,
          ...f.params,
        ]);
        rows = result.rows.map((row) => ({
          id: row.id,
          scores: {
            vectorRank: row.vector_rank,
            vectorSimilarity: row.vector_similarity,
            fulltextRank: row.lexical_rank,
            fulltextScore: row.lexical_score,
            fused: row.fused,
            rerank: null,
          },
        }));
      }
      await client.query('commit');
      return rows;
    } catch (error) {
      await client.query('rollback').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  /** Reranks the top N fused candidates; the rest keep their fused order after them. */
  private async rerank(query: string, candidates: Candidate[]): Promise<Candidate[]> {
    const reranker = this.deps.reranker!;
    const head = candidates.slice(0, this.deps.settings.rerankTopN);
    const texts = await this.texts(head.map((c) => c.id));
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

  private relevance(
    candidates: Candidate[],
    reranked: boolean,
    mode: SearchMode,
  ): Pick<SearchResult, 'noGoodAnswer' | 'relevance'> {
    const { settings } = this.deps;
    if (candidates.length === 0)
      return { noGoodAnswer: true, relevance: { basis: 'none', best: null, threshold: null } };
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

  private async texts(ids: number[]): Promise<Map<number, string>> {
    const { rows } = await this.deps.db.pool.query<{
      id: number;
      context: string;
      content: string;
    }>('select id, context, content from chunks where id = any($1::bigint[])', [ids]);
    return new Map(rows.map((row) => [row.id, `${row.context}\n${row.content}`]));
  }

  private async details(top: Candidate[]): Promise<SearchHit[]> {
    if (top.length === 0) return [];
    const { rows } = await this.deps.db.pool.query<{
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
