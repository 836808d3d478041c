import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { inTransaction } from './transaction.js';

const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'migrations');
/** Arbitrary constant shared by every process that migrates this database. */
const MIGRATION_LOCK_KEY = 727_001;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The SQL files of `migrations/`, named `NNN_name.sql`, in version order. */
export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((file) => /^\d{3}_[a-z0-9_]+\.sql$/.test(file))
    .sort()
    .map((file) => ({
      version: Number.parseInt(file.slice(0, 3), 10),
      name: file.slice(4, -4),
      sql: readFileSync(join(dir, file), 'utf8'),
    }));
}

/**
 * Applies pending migrations in order, each in its own transaction under a transaction-scoped
 * advisory lock, re-reading what is applied once the lock is held: when two processes boot at
 * once, the second waits and then finds nothing to do. Nothing is held outside a transaction,
 * so this works through PgBouncer in transaction mode too. Returns the versions it applied.
 */
export async function migrate(pool: pg.Pool, migrations = loadMigrations()): Promise<number[]> {
  const client = await pool.connect();
  const locked = <T>(work: () => Promise<T>) =>
    inTransaction(client, async () => {
      await client.query('select pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
      return work();
    });
  try {
    await locked(() =>
      client.query(`create table if not exists schema_migrations (
        version int primary key,
        name text not null,
        applied_at timestamptz not null default now()
      )`),
    );
    const done: number[] = [];
    for (const migration of migrations) {
      const applied = await locked(async () => {
        const { rows } = await client.query('select 1 from schema_migrations where version = $1', [
          migration.version,
        ]);
        if (rows.length > 0) return false;
        try {
          await client.query(migration.sql);
        } catch (error) {
          throw new Error(
            `migration ${migration.version}_${migration.name} failed: ${(error as Error).message}`,
            { cause: error },
          );
        }
        await client.query('insert into schema_migrations (version, name) values ($1, $2)', [
          migration.version,
          migration.name,
        ]);
        return true;
      });
      if (applied) done.push(migration.version);
    }
    return done;
  } finally {
    client.release();
  }
}
