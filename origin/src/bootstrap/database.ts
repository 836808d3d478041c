import type { Config } from '../config.js';
import { type Database, openDatabase } from '../db/database.js';
import { migrate } from '../db/migrate.js';
import type { Logger } from '../logger.js';

/** The configuration the database takes. */
export type DatabaseConfig = Pick<
  Config,
  | 'DATABASE_URL'
  | 'DATABASE_READ_URL'
  | 'DB_POOLER'
  | 'DATA_DIR'
  | 'DB_POOL_MAX'
  | 'DB_STATEMENT_TIMEOUT_MS'
  | 'DB_ACQUIRE_TIMEOUT_MS'
  | 'DB_MAX_WAITING'
  | 'DB_STALL_MS'
>;

/** Opens the database (PostgreSQL, or the embedded PGlite), migrated, the vector type known. */
export async function openMigratedDatabase(
  config: DatabaseConfig,
  logger: Logger,
): Promise<Database> {
  const db = await openDatabase({
    url: config.DATABASE_URL,
    readUrl: config.DATABASE_READ_URL,
    pooler: config.DB_POOLER,
    dataDir: config.DATA_DIR,
    poolMax: config.DB_POOL_MAX,
    statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
    acquire: {
      acquireTimeoutMs: config.DB_ACQUIRE_TIMEOUT_MS,
      maxWaiting: config.DB_MAX_WAITING,
      stallMs: config.DB_STALL_MS,
    },
  });
  try {
    const applied = await migrate(db.pool);
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    await db.registerVectorType();
    return db;
  } catch (error) {
    await db.close().catch(() => {});
    throw error;
  }
}
