import type pg from 'pg';
import type { Database } from '../db/database.js';
import { readPoolFor } from '../db/read-router.js';
import { assertSiteEmbedder } from '../embedders/site-vectors.js';
import type { Embedder } from '../embedders/types.js';
import type { Metrics } from '../observability/metrics.js';
import type { Reranker } from '../rerankers/types.js';
import { vectorLiteral } from '../store/chunks.js';
import type { Site } from '../store/sites.js';
import { type FusedHit, fuseScores, singleList } from './fusion.js';
import type { LexicalIndexes } from './lexical-indexes.js';
import { type OffTopicEvidence, offTopicEvidence } from './relevance-gate.js';
import { type RankedLists, SearchExecution } from './search-execution.js';
import type {
  Scores,
  SearchMode,
  SearchRequest,
  SearchResult,
  SearchSettings,
} from './search-types.js';

// The shapes and the bound statement keep their old import path (`retrieval/search.js`).
export { retrievalStatement } from './search-execution.js';
export type * from './search-types.js';

interface Candidate {
  id: number;
  scores: Scores;
}

/** Retrieved passages read for the question's words: the candidates of a usual search. */
const MAX_EVIDENCE_PASSAGES = 100;

function toCandidate(hit: FusedHit): Candidate {
  const { id, ...scores } = hit;
  return { id, scores: { ...scores, rerank: null } };
}

/** pgvector's largest `hnsw.ef_search`. */
const MAX_EF_SEARCH = 1000;

/**
 * Hybrid retrieval's ranking policy: how deep each list is read, weighted fusion of the vector
 * and BM25 lists' normalised scores, then the top candidates reranked in process and the
 * relevance gate. The reads themselves (pgvector, postings, SQL) are `SearchExecution`'s.
 */
export class SearchService {
  private readonly execution: SearchExecution;

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
  ) {
    this.execution = new SearchExecution(deps);
  }

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
    if (needsVector) assertSiteEmbedder(site, embedder);
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
    let candidates = this.fuse(
      await this.execution.rankedLists(site, request, depth, vector, pool),
      depth,
    );
    timer?.();
    let reranked = false;
    if (rerank && candidates.length > 0) {
      candidates = await this.rerank(request.query, candidates, pool);
      reranked = true;
    }
    // The results shown and the passages the relevance gate reads, in one read.
    const shown = candidates.slice(0, request.k);
    const read = await this.execution.passages(
      candidates.slice(0, Math.max(request.k, MAX_EVIDENCE_PASSAGES)).map((c) => c.id),
      pool,
    );
    const results = shown.flatMap((c) => {
      const chunk = read.get(c.id);
      return chunk === undefined ? [] : [{ ...chunk.details, scores: c.scores }];
    });
    const offTopic = offTopicEvidence(
      request.askedText ?? request.query,
      candidates.slice(0, MAX_EVIDENCE_PASSAGES).flatMap((c) => read.get(c.id)?.text ?? []),
    );
    return { results, ...this.relevance(candidates, reranked, request.mode, offTopic) };
  }

  /** One candidate list from the ranked lists: fused, or the only list the mode reads. */
  private fuse({ vector, lexical }: RankedLists, depth: number): Candidate[] {
    const { settings } = this.deps;
    const fused =
      vector === null
        ? singleList(lexical!, 'fulltext', settings.rrfK)
        : lexical === null
          ? singleList(vector, 'vector', settings.rrfK)
          : fuseScores(vector, lexical, settings, depth);
    return fused.map(toCandidate);
  }

  /** Reranks the top N fused candidates; the rest keep their fused order after them. */
  private async rerank(
    query: string,
    candidates: Candidate[],
    pool: pg.Pool,
  ): Promise<Candidate[]> {
    const reranker = this.deps.reranker!;
    const head = candidates.slice(0, this.deps.settings.rerankTopN);
    const texts = await this.execution.texts(
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
}
