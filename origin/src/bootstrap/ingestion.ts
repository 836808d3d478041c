import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import { StatisticsRefresher } from '../db/statistics.js';
import { VectorIndexBuilds } from '../db/vector-index.js';
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
  | 'VECTOR_INDEX_BUILD_IDLE_MS'
  | 'VECTOR_INDEX_MAX_DEFER_MS'
  | 'VECTOR_INDEX_BUILD_MEMORY_MB'
>;

/**
 * The parse thread (warmed), the vector indexes built after first loads (an interrupted build
 * recovered in the background), and the ingestion service that uses both.
 */
export function buildIngestion(
  config: IngestionConfig,
  deps: { db: Database; embedder: Embedder; logger: Logger; metrics: Metrics },
): { parser: ParseThread; ingestion: IngestionService; vectorIndexes: VectorIndexBuilds } {
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
  const vectorIndexes = new VectorIndexBuilds({
    pool: db.pool,
    idleMs: config.VECTOR_INDEX_BUILD_IDLE_MS,
    maxDeferMs: config.VECTOR_INDEX_MAX_DEFER_MS,
    maintenanceWorkMemMb: config.VECTOR_INDEX_BUILD_MEMORY_MB,
    onError: (error, dimension) =>
      logger.warn({ err: error, dimension }, 'vector index build failed'),
  });
  void vectorIndexes.recover();
  const ingestion = new IngestionService({
    vectorIndexes,
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
  return { parser, ingestion, vectorIndexes };
}
