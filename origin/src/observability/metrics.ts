import type pg from 'pg';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Which tier of the answer cache answered a lookup, or that none did. */
export type CacheTier = 'exact' | 'semantic' | 'miss';

/** What the process exposes to Prometheus, in one registry of its own. */
export interface Metrics {
  /** This instance's registry: tests build many apps in one process, so never the global one. */
  readonly registry: Registry;
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly sseStreams: Gauge;
  readonly timeToFirstToken: Histogram<'cache'>;
  readonly retrievalDuration: Histogram<'mode'>;
  readonly rerankDuration: Histogram;
  readonly rerankCandidates: Histogram;
  readonly embeddingBatchSize: Histogram;
  readonly embeddingDuration: Histogram;
  readonly cacheLookups: Counter<'tier'>;
  readonly rateLimitRefusals: Counter<'scope' | 'bucket'>;
  readonly ingestedChunks: Counter;
  /** Pages of web-source syncs, by outcome (added, updated, unchanged, gone, failed). */
  readonly syncPages: Counter<'outcome'>;
  /** Finished web-source sync runs, by status (ok, failed). */
  readonly syncRuns: Counter<'status'>;
  readonly chatTurns: Counter<'outcome'>;
}

/** What the gauges read, at scrape time: a source set after `createMetrics` is still read. */
export interface MetricSources {
  pool?: Pick<pg.Pool, 'totalCount' | 'idleCount' | 'waitingCount'>;
  /** Health probes of the Redis servers in use; null when that role runs in process. */
  redis?: { cache: (() => Promise<boolean>) | null; limits: (() => Promise<boolean>) | null };
}

/** Latency buckets in seconds, from a cache hit (ms) to a slow LLM answer (tens of s). */
const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Every metric name this module registers besides prom-client's defaults. */
export const METRIC_NAMES = [
  'ragedge_http_requests_total',
  'ragedge_http_request_duration_seconds',
  'ragedge_sse_streams_active',
  'ragedge_chat_time_to_first_token_seconds',
  'ragedge_chat_turns_total',
  'ragedge_retrieval_duration_seconds',
  'ragedge_rerank_duration_seconds',
  'ragedge_rerank_candidates',
  'ragedge_embedding_batch_size',
  'ragedge_embedding_duration_seconds',
  'ragedge_answer_cache_lookups_total',
  'ragedge_rate_limit_refusals_total',
  'ragedge_ingested_chunks_total',
  'ragedge_db_pool_clients',
  'ragedge_db_pool_idle',
  'ragedge_db_pool_waiting',
  'ragedge_redis_up',
] as const;

/**
 * Builds the metrics of one origin instance. Gauges of the pool and Redis read their sources
 * when Prometheus scrapes, so nothing polls in between.
 */
export function createMetrics(sources: MetricSources = {}): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  new Gauge({
    name: 'ragedge_db_pool_clients',
    help: 'Clients the database pool holds (busy and idle).',
    registers,
    collect() {
      if (sources.pool !== undefined) this.set(sources.pool.totalCount);
    },
  });
  new Gauge({
    name: 'ragedge_db_pool_idle',
    help: 'Idle clients in the database pool.',
    registers,
    collect() {
      if (sources.pool !== undefined) this.set(sources.pool.idleCount);
    },
  });
  new Gauge({
    name: 'ragedge_db_pool_waiting',
    help: 'Queries waiting for a database pool client.',
    registers,
    collect() {
      if (sources.pool !== undefined) this.set(sources.pool.waitingCount);
    },
  });
  new Gauge({
    name: 'ragedge_redis_up',
    help: 'Whether the Redis of a role (cache, limits) answers PING; absent when the role runs in process.',
    labelNames: ['role'] as const,
    registers,
    async collect() {
      const probes = Object.entries(sources.redis ?? {}).filter(
        (entry): entry is [string, () => Promise<boolean>] => entry[1] !== null,
      );
      const states = await Promise.all(probes.map(([, probe]) => probe().catch(() => false)));
      for (const [i, [role]] of probes.entries()) this.set({ role }, states[i] ? 1 : 0);
    },
  });

  return {
    registry,
    httpRequests: new Counter({
      name: 'ragedge_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status.',
      labelNames: ['method', 'route', 'status'] as const,
      registers,
    }),
    httpDuration: new Histogram({
      name: 'ragedge_http_request_duration_seconds',
      help: 'Time until the response head is ready (a stream counts until its headers), by route pattern.',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: SECONDS,
      registers,
    }),
    sseStreams: new Gauge({
      name: 'ragedge_sse_streams_active',
      help: 'Chat event streams open to readers right now.',
      registers,
    }),
    timeToFirstToken: new Histogram({
      name: 'ragedge_chat_time_to_first_token_seconds',
      help: 'From the start of a chat turn to its first answer token, by cache outcome (hit, miss, bypass).',
      labelNames: ['cache'] as const,
      buckets: SECONDS,
      registers,
    }),
    chatTurns: new Counter({
      name: 'ragedge_chat_turns_total',
      help: 'Chat turns finished, by outcome (complete, no_answer, partial, error).',
      labelNames: ['outcome'] as const,
      registers,
    }),
    retrievalDuration: new Histogram({
      name: 'ragedge_retrieval_duration_seconds',
      help: 'The retrieval statement (vector kNN, BM25, fusion) in the database, by search mode.',
      labelNames: ['mode'] as const,
      buckets: SECONDS,
      registers,
    }),
    rerankDuration: new Histogram({
      name: 'ragedge_rerank_duration_seconds',
      help: 'Reranking the top candidates of one search.',
      buckets: SECONDS,
      registers,
    }),
    rerankCandidates: new Histogram({
      name: 'ragedge_rerank_candidates',
      help: 'Candidates reranked per search.',
      buckets: [1, 5, 10, 20, 30, 50, 100, 200],
      registers,
    }),
    embeddingBatchSize: new Histogram({
      name: 'ragedge_embedding_batch_size',
      help: 'Texts per embedder call (1 for a query, up to EMBED_BATCH_SIZE for ingestion).',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers,
    }),
    embeddingDuration: new Histogram({
      name: 'ragedge_embedding_duration_seconds',
      help: 'Time of one embedder call.',
      buckets: SECONDS,
      registers,
    }),
    cacheLookups: new Counter({
      name: 'ragedge_answer_cache_lookups_total',
      help: 'Answer cache lookups by the tier that answered (exact, semantic) or miss.',
      labelNames: ['tier'] as const,
      registers,
    }),
    rateLimitRefusals: new Counter({
      name: 'ragedge_rate_limit_refusals_total',
      help: 'Requests refused with 429, by the budget that refused (client, site, conversation) and bucket.',
      labelNames: ['scope', 'bucket'] as const,
      registers,
    }),
    ingestedChunks: new Counter({
      name: 'ragedge_ingested_chunks_total',
      help: 'Chunks embedded and stored by ingestion.',
      registers,
    }),
    syncPages: new Counter({
      name: 'ragedge_sync_pages_total',
      help: 'Pages visited by web-source syncs, by outcome (added, updated, unchanged, gone, failed).',
      labelNames: ['outcome'] as const,
      registers,
    }),
    syncRuns: new Counter({
      name: 'ragedge_sync_runs_total',
      help: 'Web-source sync runs finished, by status (ok, failed).',
      labelNames: ['status'] as const,
      registers,
    }),
  };
}
