import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import { StatisticsRefresher } from '../db/statistics.js';
import type { Embedder } from '../embedders/types.js';
import { ParseThread } from '../ingest/parse-thread.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../observability/metrics.js';
import { IngestionService } from '../services/ingestion.js';

/** The configuration ingestion takes. */
export type IngestionConfig = Pick<
  Config,
  | 'CHUNK_MAX_TOKENS'
  | 'CHUNK_OVERLAP_TOKENS'
  | 'PARSE_TIMEOUT_MS'
  | 'PARSE_MAX_MEMORY_MB'
  | 'PARSE_MAX_TEXT_CHARS'
  | 'PARSE_MAX_HTML_DEPTH'
  | 'EMBED_BATCH_SIZE'
>;

/** The parse thread (warmed) and the ingestion service that parses through it. */
export function buildIngestion(
  config: IngestionConfig,
  deps: { db: Database; embedder: Embedder; logger: Logger; metrics: Metrics },
): { parser: ParseThread; ingestion: IngestionService } {
  const { db, logger } = deps;
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
    embedder: deps.embedder,
    chunking,
    embedBatchSize: config.EMBED_BATCH_SIZE,
    logger,
    metrics: deps.metrics,
    statistics: new StatisticsRefresher({
      pool: db.pool,
      onError: (error) => logger.warn({ err: error }, 'statistics refresh failed'),
    }),
  });
  return { parser, ingestion };
}
