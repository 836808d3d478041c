import type { AdminSessions } from './admin/session.js';
import type { ChatStreams } from './chat/stream-registry.js';
import type { ChatService } from './chat/turn.js';
import type { Config } from './config.js';
import type { SyncRunner } from './crawl/runner.js';
import type { Database } from './db/database.js';
import type { Embedder } from './embedders/types.js';
import type { FeedbackTokens } from './feedback/token.js';
import type { WebhookNotifier } from './feedback/webhook.js';
import type { JobQueue } from './jobs/queue.js';
import type { Limits } from './limits/enforce.js';
import type { Logger } from './logger.js';
import type { Metrics } from './observability/metrics.js';
import type { SearchService } from './retrieval/search.js';
import type { IngestionService } from './services/ingestion.js';

/** Everything a route needs, built once at startup by `main.ts` (or a test harness). */
export interface Services {
  config: Config;
  db: Database;
  embedder: Embedder;
  /** Why this embedder serves (e.g. "model not found in ./models, using the offline embedder"). */
  embedderReason: string;
  ingestion: IngestionService;
  search: SearchService;
  /** Runs web-source syncs (manual triggers; the scheduler uses it too). */
  sync: SyncRunner;
  /** The durable job queue (large uploads, reindexes, syncs), run by any origin's worker. */
  jobs: JobQueue;
  chat: { registry: ChatStreams; pingMs: number; service: ChatService };
  /** Which answer generator serves: an LLM endpoint or the extractive answerer. */
  generatorId: string;
  limits: Limits;
  /** Health probes of the Redis servers in use (null: in-process cache or limits). */
  redis: { cache: (() => Promise<boolean>) | null; limits: (() => Promise<boolean>) | null };
  /** Why this reranker serves (or none). */
  rerankerReason: string;
  logger: Logger;
  /** This instance's Prometheus registry and the metrics the code records into it. */
  metrics: Metrics;
  /** The operator's side: console sessions, readers' feedback tokens, site webhooks. */
  operator: {
    sessions: AdminSessions;
    feedbackTokens: FeedbackTokens;
    webhooks: WebhookNotifier;
    /** Similarity at which insights group two questions. */
    groupSimilarity: number;
  };
  /** The admin token in force (from ADMIN_TOKEN, or generated into the data folder). */
  adminToken: string;
  version: string;
}
