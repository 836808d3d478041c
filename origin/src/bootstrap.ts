import { resolveAdminToken } from './admin-token.js';
import type { Config } from './config.js';
import type { Services } from './context.js';
import { openDatabase } from './db/database.js';
import { migrate } from './db/migrate.js';
import { selectEmbedder } from './embedders/select.js';
import type { Embedder } from './embedders/types.js';
import type { Logger } from './logger.js';
import { IngestionService } from './services/ingestion.js';
import { VERSION } from './version.js';

/** The services plus a way to release them. */
export interface Runtime extends Services {
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
    dataDir: config.DATA_DIR,
    poolMax: config.DB_POOL_MAX,
    statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
  });
  try {
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
    const admin = resolveAdminToken(config.ADMIN_TOKEN, config.DATA_DIR);
    if (admin.file !== null) logger.info({ file: admin.file }, 'admin token read from file');
    const ingestion = new IngestionService({
      db,
      embedder: selected.embedder,
      chunking: { maxTokens: config.CHUNK_MAX_TOKENS, overlapTokens: config.CHUNK_OVERLAP_TOKENS },
      embedBatchSize: config.EMBED_BATCH_SIZE,
      logger,
    });
    return {
      config,
      db,
      embedder: selected.embedder,
      embedderReason: selected.reason,
      ingestion,
      logger,
      adminToken: admin.token,
      version: VERSION,
      async close() {
        await selected.embedder.close();
        await db.close();
      },
    };
  } catch (error) {
    await db.close().catch(() => {});
    throw error;
  }
}
