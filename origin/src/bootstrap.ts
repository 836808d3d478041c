import { AdminSessions } from './admin/session.js';
import { type AdminToken, resolveAdminToken } from './admin-token.js';
import { ExtractiveGenerator } from './answer/extractive.js';
import { OpenAICompatibleGenerator } from './answer/openai-compatible.js';
import type { AnswerGenerator } from './answer/types.js';
import type { AnswerCache } from './cache/answer-cache.js';
import { MemoryAnswerCache } from './cache/memory-answer-cache.js';
import { connectRedis, redisIsUp, waitForRedis } from './cache/redis.js';
import { RedisAnswerCache } from './cache/redis-answer-cache.js';
import { StreamRegistry } from './chat/stream-registry.js';
import type { Config } from './config.js';
import type { Services } from './context.js';
import { InProcessSyncRunner } from './crawl/runner.js';
import { SafeFetcher } from './crawl/safe-fetch.js';
import { SyncScheduler } from './crawl/scheduler.js';
import { openDatabase } from './db/database.js';
import { migrate } from './db/migrate.js';
import { StatisticsRefresher } from './db/statistics.js';
import { selectEmbedder } from './embedders/select.js';
import type { Embedder } from './embedders/types.js';
import { feedbackTokens } from './feedback/token.js';
import { notifySite, WebhookNotifier } from './feedback/webhook.js';
import { ParseThread } from './ingest/parse-thread.js';
import { createJobs } from './jobs/index.js';
import { boundedEmbedder, boundedReranker } from './lib/bounded-models.js';
import type { LimitScope } from './limits/enforce.js';
import {
  checkRedisPolicy,
  createRateLimiter,
  type RateLimitBucket,
} from './limits/rate-limiter.js';
import type { Logger } from './logger.js';
import {
  instrumentAnswerCache,
  instrumentEmbedder,
  instrumentReranker,
} from './observability/instrument.js';
import { createMetrics, type MetricSources } from './observability/metrics.js';
import { selectReranker } from './rerankers/select.js';
import { LexicalIndexes } from './retrieval/lexical-indexes.js';
import { SearchService } from './retrieval/search.js';
import { IngestionService } from './services/ingestion.js';
import { type RetentionJob, startRetentionJob } from './services/retention.js';
import { VERSION } from './version.js';

/** The services plus a way to release them. */
export interface Runtime extends Services {
  /** The retention job (started with the services, stopped by `close`). */
  retention: RetentionJob;
  /** Where the admin token came from, for the start banner (never the token itself). */
  adminTokenOrigin: Omit<AdminToken, 'token'>;
  close(): Promise<void>;
}

/**
 * Builds every service once, in dependency order: database (migrated), embedder, ingestion.
 * `options.embedder` lets a harness inject a specific embedder; nothing else is swappable here.
 */
export async function buildServices(
  config: Config,
  logger: Logger,
  options: { embedder?: { embedder: Embedder; reason: string } } = {},
): Promise<Runtime> {
  const db = await openDatabase({
    url: config.DATABASE_URL,
    readUrl: config.DATABASE_READ_URL,
    dataDir: config.DATA_DIR,
    poolMax: config.DB_POOL_MAX,
    statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
    pooler: config.DB_POOLER,
    acquire: {
      acquireTimeoutMs: config.DB_ACQUIRE_TIMEOUT_MS,
      maxWaiting: config.DB_MAX_WAITING,
      stallMs: config.DB_STALL_MS,
    },
  });
  try {
    const metricSources: MetricSources = { pool: db.pool };
    const metrics = createMetrics(metricSources);
    const applied = await migrate(db.pool);
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    await db.registerVectorType();
    const selected = options.embedder ?? (await selectEmbedder(config));
    logger.info(
      {
        embedder: selected.embedder.id,
        dimension: selected.embedder.dimension,
        reason: selected.reason,
        database: db.kind,
      },
      'embedder ready',
    );
    const embedder = boundedEmbedder(instrumentEmbedder(selected.embedder, metrics), {
      concurrency: config.EMBED_CONCURRENCY,
      maxWaiting: config.EMBED_QUEUE_MAX,
    });
    const admin = resolveAdminToken(config.ADMIN_TOKEN, config.DATA_DIR);
    if (admin.source === 'generated')
      logger.info({ file: admin.file }, 'admin token generated (first start)');
    if (admin.source === 'file') logger.info({ file: admin.file }, 'admin token read from file');
    const operator = {
      sessions: new AdminSessions(admin.token, { ttlMs: config.ADMIN_SESSION_HOURS * 3_600_000 }),
      feedbackTokens: feedbackTokens(admin.token),
      webhooks: new WebhookNotifier({
        logger,
        maxQueue: config.WEBHOOK_QUEUE_MAX,
        baseDelayMs: config.WEBHOOK_RETRY_MS,
      }),
      groupSimilarity:
        config.INSIGHTS_GROUP_SIMILARITY ?? defaultGroupSimilarity(selected.embedder.id),
    };
    const chunking = {
      maxTokens: config.CHUNK_MAX_TOKENS,
      overlapTokens: config.CHUNK_OVERLAP_TOKENS,
    };
    const parser = new ParseThread({
      timeoutMs: config.PARSE_TIMEOUT_MS,
      maxMemoryMb: config.PARSE_MAX_MEMORY_MB,
      parse: {
        maxTextChars: config.PARSE_MAX_TEXT_CHARS,
        maxHtmlDepth: config.PARSE_MAX_HTML_DEPTH,
      },
      chunking,
    });
    parser.warm();
    const ingestion = new IngestionService({
      db,
      parser,
      embedder,
      chunking,
      embedBatchSize: config.EMBED_BATCH_SIZE,
      logger,
      metrics,
      statistics: new StatisticsRefresher({
        pool: db.pool,
        onError: (error) => logger.warn({ err: error }, 'statistics refresh failed'),
      }),
    });
    const rerank = await selectReranker({
      kind: config.RERANKER,
      modelId: config.RERANK_MODEL,
      modelsDir: config.MODELS_DIR,
      dtype: config.EMBEDDING_DTYPE,
    });
    logger.info({ reranker: rerank.reranker?.id ?? null, reason: rerank.reason }, 'reranker ready');
    const search = new SearchService({
      metrics,
      db,
      lexicalIndexes: new LexicalIndexes({
        pool: db.pool,
        maxBytes: config.SEARCH_INDEX_MEMORY_MB * 1024 * 1024,
        onError: (error, siteId) =>
          logger.warn({ err: error, siteId }, 'in-memory postings not loaded; ranking in SQL'),
      }),
      embedder,
      reranker:
        rerank.reranker === null
          ? null
          : boundedReranker(instrumentReranker(rerank.reranker, metrics), {
              concurrency: config.RERANK_CONCURRENCY,
              maxWaiting: config.RERANK_QUEUE_MAX,
            }),
      settings: {
        bm25K1: config.BM25_K1,
        bm25B: config.BM25_B,
        rrfK: config.SEARCH_RRF_K,
        vectorWeight: config.SEARCH_VECTOR_WEIGHT ?? defaultVectorWeight(selected.embedder.id),
        fulltextWeight: config.SEARCH_FULLTEXT_WEIGHT,
        minDepth: config.SEARCH_MIN_DEPTH,
        rerankTopN: config.RERANK_TOP_N,
        feedbackDocs: config.SEARCH_FEEDBACK_DOCS,
        feedbackTerms: config.SEARCH_FEEDBACK_TERMS,
        originalWeight: config.SEARCH_FEEDBACK_ORIGINAL_WEIGHT,
        minSimilarity: config.SEARCH_MIN_SIMILARITY ?? defaultMinSimilarity(selected.embedder.id),
        minRerankScore: config.RERANK_MIN_SCORE,
      },
    });
    const generator: AnswerGenerator =
      config.LLM_BASE_URL === undefined
        ? new ExtractiveGenerator()
        : new OpenAICompatibleGenerator({
            baseUrl: config.LLM_BASE_URL,
            apiKey: config.LLM_API_KEY ?? 'none',
            model: config.LLM_MODEL,
            timeoutMs: config.LLM_TIMEOUT_MS,
            maxTokens: config.LLM_MAX_TOKENS,
            temperature: 0.2,
          });
    logger.info({ generator: generator.id }, 'answers ready');
    const onRedisError = (name: string) => (error: unknown) =>
      logger.warn(
        { err: error, redis: name },
        'redis unavailable; falling back (cache misses, limits per process)',
      );
    const cacheRedis =
      config.REDIS_URL === undefined
        ? null
        : connectRedis(config.REDIS_URL, { name: 'ragedge-cache', onError: onRedisError('cache') });
    const limitsRedis =
      config.RATE_LIMIT_REDIS_URL === undefined
        ? cacheRedis
        : connectRedis(config.RATE_LIMIT_REDIS_URL, {
            name: 'ragedge-limits',
            onError: onRedisError('limits'),
          });
    // Commands fail fast while a client is not ready (no offline queue): wait a little at boot, no more.
    for (const client of new Set([cacheRedis, limitsRedis]))
      if (client !== null) await waitForRedis(client, 3_000);
    if (limitsRedis !== null) {
      const policy = await checkRedisPolicy(limitsRedis);
      if (policy !== 'noeviction') {
        logger.warn(
          { policy },
          'the rate-limit Redis may evict keys (maxmemory-policy is not noeviction): cache pressure could reset limits; give limits their own Redis (RATE_LIMIT_REDIS_URL)',
        );
      }
    }
    const cache: AnswerCache =
      cacheRedis === null
        ? new MemoryAnswerCache({ ttlSeconds: config.CACHE_TTL_SECONDS })
        : new RedisAnswerCache(cacheRedis, {
            keyPrefix: `${config.REDIS_KEY_PREFIX}cache:`,
            ttlSeconds: config.CACHE_TTL_SECONDS,
            onError: (error: unknown, operation: string) =>
              logger.warn(
                { err: error, operation },
                'answer cache unavailable; serving without it',
              ),
          });
    const perMinute = (points: number) => ({ points, durationSeconds: 60 });
    // One client never spends more than its share of a site's budget, whatever its own says.
    const share = (own: number, site: number) =>
      Math.max(1, Math.min(own, Math.floor((site * config.RATE_LIMIT_CLIENT_SHARE_PERCENT) / 100)));
    const limits = {
      client: createRateLimiter({
        redis: limitsRedis ?? undefined,
        keyPrefix: `${config.REDIS_KEY_PREFIX}rl:client`,
        budgets: {
          chat: perMinute(
            share(config.RATE_LIMIT_CHAT_PER_MINUTE, config.RATE_LIMIT_SITE_CHAT_PER_MINUTE),
          ),
          search: perMinute(
            share(config.RATE_LIMIT_SEARCH_PER_MINUTE, config.RATE_LIMIT_SITE_CHAT_PER_MINUTE * 3),
          ),
          resume: perMinute(config.RATE_LIMIT_RESUME_PER_MINUTE),
          other: perMinute(300),
        },
      }),
      site: createRateLimiter({
        redis: limitsRedis ?? undefined,
        keyPrefix: `${config.REDIS_KEY_PREFIX}rl:site`,
        budgets: {
          chat: perMinute(config.RATE_LIMIT_SITE_CHAT_PER_MINUTE),
          search: perMinute(config.RATE_LIMIT_SITE_CHAT_PER_MINUTE * 3),
          resume: perMinute(config.RATE_LIMIT_SITE_CHAT_PER_MINUTE * 3),
          other: perMinute(3000),
        },
      }),
      onRefused: (scope: LimitScope, bucket: RateLimitBucket) =>
        metrics.rateLimitRefusals.inc({ scope, bucket }),
    };
    const registry = new StreamRegistry({
      maxStreams: config.CHAT_MAX_STREAMS,
      maxRetained: config.CHAT_MAX_RETAINED_STREAMS,
      maxEventsPerStream: 20_000,
      retentionMs: config.CHAT_RESUME_WINDOW_MS,
      detachGraceMs: config.CHAT_DETACH_GRACE_MS,
    });
    const fetcher = new SafeFetcher({
      allowHosts: config.CRAWL_ALLOW_HOSTS,
      maxBytes: config.CRAWL_MAX_PAGE_MB * 1024 * 1024,
      timeoutMs: config.CRAWL_TIMEOUT_MS,
      maxRedirects: config.CRAWL_MAX_REDIRECTS,
      userAgent: `RagEdgeBot/${VERSION} (ragedge, a self-hosted RAG engine)`,
    });
    const sync = new InProcessSyncRunner({
      db,
      ingestion,
      fetcher,
      logger,
      metrics,
      concurrency: config.CRAWL_CONCURRENCY,
      maxDelayMs: config.CRAWL_MAX_DELAY_MS,
      leaseSeconds: config.SYNC_LEASE_SECONDS,
    });
    const scheduler = new SyncScheduler({
      db,
      runner: sync,
      logger,
      intervalMs: config.SYNC_SCHEDULER_MS,
      leaseSeconds: config.SYNC_LEASE_SECONDS,
    });
    if (config.SYNC_SCHEDULER_MS > 0) scheduler.start();
    const jobs = createJobs(config, {
      db,
      ingestion,
      embedder,
      sync,
      logger,
      embedBatchSize: config.EMBED_BATCH_SIZE,
    });
    const redis = {
      cache: cacheRedis === null ? null : () => redisIsUp(cacheRedis),
      limits: limitsRedis === null ? null : () => redisIsUp(limitsRedis),
    };
    metricSources.redis = redis;
    const retention = startRetentionJob(
      db.pool,
      {
        days: config.RETENTION_DAYS,
        maxConversationsPerSite: config.MAX_CONVERSATIONS_PER_SITE,
        intervalMs: config.RETENTION_INTERVAL_MINUTES * 60_000,
      },
      logger,
    );
    return {
      retention,
      config,
      search,
      generatorId: generator.id,
      limits,
      redis,
      chat: {
        registry,
        pingMs: config.CHAT_PING_MS,
        deps: {
          db,
          search,
          generator,
          logger,
          metrics,
          embedder,
          cache: instrumentAnswerCache(cache, metrics),
          feedbackTokens: operator.feedbackTokens,
          onUnanswered: ({ site, messageId, question }) =>
            notifySite(operator.webhooks, admin.token, site, {
              type: 'question.unanswered',
              messageId,
              question,
            }),
          settings: {
            sources: config.CHAT_SOURCES,
            historyTurns: config.CHAT_HISTORY_TURNS,
            historyChars: 1_000,
            cacheSimilarity: config.CACHE_SIMILARITY,
          },
        },
      },
      rerankerReason: rerank.reason,
      db,
      embedder,
      embedderReason: selected.reason,
      ingestion,
      logger,
      metrics,
      adminToken: admin.token,
      operator,
      adminTokenOrigin: { file: admin.file, source: admin.source },
      version: VERSION,
      sync,
      jobs: jobs.queue,
      async close() {
        operator.webhooks.close();
        retention.stop();
        await jobs.worker.stop();
        await scheduler.stop();
        await sync.close();
        await fetcher.close();
        await parser.close();
        cacheRedis?.disconnect();
        if (limitsRedis !== cacheRedis) limitsRedis?.disconnect();
        await rerank.reranker?.close();
        await selected.embedder.close();
        await db.close();
      },
    };
  } catch (error) {
    await db.close().catch(() => {});
    throw error;
  }
}

/**
 * Cosine similarity below which a best match is "nothing relevant", by embedder: the offline
 * hash embedder's similarities run far lower than a sentence model's.
 */
function defaultMinSimilarity(embedderId: string): number {
  return embedderId.startsWith('hash') ? 0.12 : 0.3;
}

/**
 * Weight of the vector list in reciprocal rank fusion, by embedder: it follows how good the
 * embedder's own ranking is. The offline hash embedder ranks at 0.64× full-text's nDCG@10 on
 * Cranfield and 0.69× on MEDLINE, so its list only breaks near ties of the lexical ranking
 * (0.1: hybrid then stays at full-text's level on both; 0.2 cost 3.4% on Cranfield, see
 * BENCHMARKS.md); a sentence model is an equal partner.
 */
function defaultVectorWeight(embedderId: string): number {
  return embedderId.startsWith('hash') ? 0.1 : 1;
}

/** Similarity at which two questions are one group: the hash embedder's run lower, as above. */
function defaultGroupSimilarity(embedderId: string): number {
  return embedderId.startsWith('hash') ? 0.6 : 0.8;
}
