import type { AdminToken } from './admin-token.js';
import { buildAnswerCache, buildChat, buildGenerator } from './bootstrap/chat.js';
import { buildCrawl } from './bootstrap/crawl.js';
import { openMigratedDatabase } from './bootstrap/database.js';
import { buildIngestion } from './bootstrap/ingestion.js';
import { buildLimits } from './bootstrap/limits.js';
import { buildEmbedder, buildReranker } from './bootstrap/models.js';
import { buildOperator } from './bootstrap/operator.js';
import { connectRedisClients, type RedisClients } from './bootstrap/redis.js';
import { buildSearch } from './bootstrap/search.js';
import type { Config } from './config.js';
import type { VectorIndexBuilds } from './db/vector-index.js';
import type { Embedder } from './embedders/types.js';
import { notifySite } from './feedback/webhook.js';
import { createJobs } from './jobs/index.js';
import type { Logger } from './logger.js';
import { createMetrics } from './observability/metrics.js';
import { type RetentionJob, startRetentionJob } from './services/retention.js';
import type { Services } from './services.js';
import { VERSION } from './version.js';

/** The services plus a way to release them. */
export interface Runtime extends Services {
  /** The retention job (started with the services, stopped by `close`). */
  retention: RetentionJob;
  /** Where the admin token came from, for the start banner (never the token itself). */
  adminTokenOrigin: Omit<AdminToken, 'token'>;
  /** Vector indexes built after first loads (benchmarks and tests flush them). */
  vectorIndexes: VectorIndexBuilds;
  close(): Promise<void>;
}

/**
 * Builds every service once, in dependency order: database (migrated), Redis, metrics (reading
 * both), models, ingestion, search, chat, web syncs. Each factory of `bootstrap/` takes its slice
 * of the configuration. `options.embedder` lets a harness inject a specific embedder; nothing
 * else is swappable here.
 */
export async function buildServices(
  config: Config,
  logger: Logger,
  options: { embedder?: { embedder: Embedder; reason: string } } = {},
): Promise<Runtime> {
  const db = await openMigratedDatabase(config, logger);
  let redis: RedisClients | undefined;
  try {
    redis = await connectRedisClients(config, logger);
    const metrics = createMetrics({ pool: db.pool, redis: redis.probes });
    const embedder = await buildEmbedder(
      config,
      { logger, metrics, databaseKind: db.kind },
      options.embedder,
    );
    const { admin, operator } = buildOperator(config, logger, embedder.model.id, db.pool);
    const { parser, ingestion, vectorIndexes } = buildIngestion(config, {
      db,
      embedder: embedder.serving,
      logger,
      metrics,
    });
    const reranker = await buildReranker(config, { logger, metrics });
    const search = buildSearch(config, {
      db,
      embedder: embedder.serving,
      embedderId: embedder.model.id,
      reranker: reranker.serving,
      logger,
      metrics,
    });
    const generator = buildGenerator(config, logger);
    const chat = buildChat(
      config,
      {
        db,
        search,
        generator,
        logger,
        metrics,
        embedder: embedder.serving,
        cache: buildAnswerCache(config, { redis: redis.cache, logger, metrics }),
        feedbackTokens: operator.feedbackTokens,
        onUnanswered: ({ site, messageId, question }) =>
          notifySite(operator.webhooks, admin.token, site, {
            type: 'question.unanswered',
            messageId,
            question,
          }),
      },
      redis.cache,
    );
    const { fetcher, sync, scheduler } = buildCrawl(config, { db, ingestion, logger, metrics });
    const jobs = createJobs(config, {
      db,
      ingestion,
      embedder: embedder.serving,
      sync,
      logger,
      embedBatchSize: config.EMBED_BATCH_SIZE,
    });
    const retention = startRetentionJob(
      db.pool,
      {
        days: config.RETENTION_DAYS,
        maxConversationsPerSite: config.MAX_CONVERSATIONS_PER_SITE,
        intervalMs: config.RETENTION_INTERVAL_MINUTES * 60_000,
      },
      logger,
    );
    const { disconnect } = redis;
    return {
      retention,
      config,
      search,
      generatorId: generator.id,
      limits: buildLimits(config, { redis: redis.limits, metrics }),
      redis: redis.probes,
      chat,
      rerankerReason: reranker.reason,
      db,
      embedder: embedder.serving,
      embedderReason: embedder.reason,
      ingestion,
      logger,
      metrics,
      adminToken: admin.token,
      operator,
      adminTokenOrigin: { file: admin.file, source: admin.source },
      vectorIndexes,
      version: VERSION,
      sync,
      jobs: jobs.queue,
      async close() {
        vectorIndexes.close();
        operator.webhooks.close();
        retention.stop();
        await jobs.worker.stop();
        await scheduler.stop();
        await chat.registry.close?.();
        await sync.close();
        await fetcher.close();
        await parser.close();
        disconnect();
        await reranker.close();
        await embedder.close();
        await db.close();
      },
    };
  } catch (error) {
    redis?.disconnect();
    await db.close().catch(() => {});
    throw error;
  }
}
