import type { Database } from '../db/database.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { IngestionService } from '../services/ingestion.js';
import type { SafeFetcher } from './safe-fetch.js';

/** What a sync needs; built once by the origin. */
export interface SyncDeps {
  db: Database;
  ingestion: IngestionService;
  fetcher: SafeFetcher;
  logger: Logger;
  metrics?: Pick<Metrics, 'syncPages'>;
  /** Pages fetched at once (a crawl delay in robots.txt lowers it to one). */
  concurrency: number;
  /** Longest crawl delay obeyed; a site asking for more is synced at this pace. */
  maxDelayMs: number;
}

/** The request pace: a crawl delay means one request at a time, spaced by the delay. */
export interface Pace {
  concurrency: number;
  /** Resolves when the next request may start. */
  wait(): Promise<void>;
}
