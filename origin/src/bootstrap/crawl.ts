import type { Config } from '../config.js';
import { InProcessSyncRunner } from '../crawl/runner.js';
import { SafeFetcher } from '../crawl/safe-fetch.js';
import { SyncScheduler } from '../crawl/scheduler.js';
import type { Database } from '../db/database.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { IngestionService } from '../services/ingestion.js';
import { VERSION } from '../version.js';

/** The configuration web syncs take. */
export type CrawlConfig = Pick<
  Config,
  | 'CRAWL_ALLOW_HOSTS'
  | 'CRAWL_MAX_PAGE_MB'
  | 'CRAWL_TIMEOUT_MS'
  | 'CRAWL_MAX_REDIRECTS'
  | 'CRAWL_CONCURRENCY'
  | 'CRAWL_MAX_DELAY_MS'
  | 'SYNC_LEASE_SECONDS'
  | 'SYNC_SCHEDULER_MS'
>;

/** The safe fetcher, the sync runner that crawls through it, and the scheduler (started). */
export function buildCrawl(
  config: CrawlConfig,
  deps: { db: Database; ingestion: IngestionService; logger: Logger; metrics: Metrics },
): { fetcher: SafeFetcher; sync: InProcessSyncRunner; scheduler: SyncScheduler } {
  const { db, logger } = deps;
  const fetcher = new SafeFetcher({
    allowHosts: config.CRAWL_ALLOW_HOSTS,
    maxBytes: config.CRAWL_MAX_PAGE_MB * 1024 * 1024,
    timeoutMs: config.CRAWL_TIMEOUT_MS,
    maxRedirects: config.CRAWL_MAX_REDIRECTS,
    userAgent: `RagEdgeBot/${VERSION} (ragedge, a self-hosted RAG engine)`,
  });
  const sync = new InProcessSyncRunner({
    db,
    ingestion: deps.ingestion,
    fetcher,
    logger,
    metrics: deps.metrics,
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
  return { fetcher, sync, scheduler };
}
