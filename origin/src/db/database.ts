import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { createPgConfig } from '@electric-sql/pglite/node-postgres';
import { vector } from '@electric-sql/pglite-pgvector';
import pg from 'pg';
import { registerTypes } from 'pgvector/pg';
import { ping } from '../store/ping.js';
import { acquireDataDirLock, type DataDirLock } from './data-dir-lock.js';
import { type AcquireLimits, FailFastPool } from './fail-fast-pool.js';

/** The config defaults of DB_ACQUIRE_TIMEOUT_MS and DB_MAX_WAITING, for callers without a config. */
export const DEFAULT_ACQUIRE: AcquireLimits = {
  acquireTimeoutMs: 15_000,
  maxWaiting: 2_000,
  stallMs: 2_000,
};

/** Which engine is behind the pool. */
export type DatabaseKind = 'postgres' | 'pglite';

/** One `pg` Pool, whichever engine is behind it: there is one SQL code path. */
export interface Database {
  readonly kind: DatabaseKind;
  readonly pool: pg.Pool;
  /**
   * A read-only streaming replica (DATABASE_READ_URL), or null. Only reads that may lag use it,
   * and only for a site the replica has caught up with (see `readPoolFor`).
   */
  readonly replica: pg.Pool | null;
  /** Teaches the pool to parse `vector` columns; call once the extension exists. */
  registerVectorType(): Promise<void>;
  /**
   * Resolves when the engine answers (`select 1`). On PGlite a busy connection is an answer: its
   * one connection may be held by a long write transaction, and "is the database alive" must not
   * wait for that write to commit.
   */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** PostgreSQL URL; without it an embedded PGlite under `dataDir` is used. */
  url: string | undefined;
  /** A read-only replica's URL (PostgreSQL only): searches of caught-up sites read there. */
  readUrl?: string | undefined;
  dataDir: string;
  poolMax: number;
  statementTimeoutMs: number;
  /** Bounds on waiting for a pooled client: past them a request gets 503 instead of hanging. */
  acquire?: AcquireLimits;
  /**
   * `pgbouncer`: the URL reaches PgBouncer in transaction mode, which refuses a
   * `statement_timeout` startup parameter; the server side then comes from PgBouncer's
   * `connect_query` (or the role's setting), and a client-side timeout backs it up.
   */
  pooler?: 'none' | 'pgbouncer';
}

/**
 * Opens the database. Type parsers are looked up through a map that `registerVectorType` fills,
 * so that pooled clients parse vectors without a per-connection query racing the first one.
 */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  // int8 (ids, counts) as numbers: ids stay far below 2^53.
  const parsers = new Map<number, (value: string) => unknown>([[20, Number]]);
  const types = {
    getTypeParser(oid: number, format?: 'text' | 'binary') {
      return parsers.get(oid) ?? pg.types.getTypeParser(oid, format);
    },
  } as pg.CustomTypesConfig;

  const registerVectorType = async (pool: pg.Pool) => {
    const collector = {
      query: (text: string, values: unknown[]) => pool.query(text, values),
      setTypeParser: (oid: number, _format: string, parse: (value: string) => unknown) => {
        parsers.set(oid, parse);
      },
    };
    await registerTypes(collector as unknown as pg.ClientBase);
  };

  if (options.url !== undefined) {
    const connect = (connectionString: string, applicationName: string) => {
      const pool = new FailFastPool(
        {
          connectionString,
          max: options.poolMax,
          types,
          idleTimeoutMillis: 30_000,
          ...(options.pooler === 'pgbouncer'
            ? { query_timeout: options.statementTimeoutMs + 1_000 }
            : { statement_timeout: options.statementTimeoutMs }),
          application_name: applicationName,
        },
        options.acquire ?? DEFAULT_ACQUIRE,
      );
      // An idle client that loses its server emits here; without a listener the process would exit.
      pool.on('error', () => {});
      return pool;
    };
    const pool = connect(options.url, 'ragedge-origin');
    // The replica shares the type parsers: a physical replica has the primary's type oids.
    const replica =
      options.readUrl === undefined ? null : connect(options.readUrl, 'ragedge-origin-read');
    return {
      kind: 'postgres',
      pool,
      replica,
      registerVectorType: () => registerVectorType(pool),
      ping: () => ping(pool),
      async close() {
        await Promise.all([pool.end(), replica?.end()]);
      },
    };
  }

  const dir = join(options.dataDir, 'pglite');
  mkdirSync(dir, { recursive: true });
  const lock: DataDirLock = acquireDataDirLock(dir);
  let pglite: PGlite;
  try {
    pglite = await PGlite.create(dir, { extensions: { vector } });
  } catch (error) {
    lock.release();
    throw error;
  }
  // PGlite is one connection: the adapter's pool has a single client and queues the rest.
  const pool = new FailFastPool(
    { ...createPgConfig(pglite), types, max: 1 },
    options.acquire ?? DEFAULT_ACQUIRE,
  );
  pool.on('error', () => {});
  return {
    kind: 'pglite',
    pool,
    replica: null,
    registerVectorType: () => registerVectorType(pool),
    ping: async () => {
      // The engine runs in this process, on this event loop: a statement cannot hang without
      // holding the loop, so when the one connection is busy, that this code runs at all shows the
      // engine turns. (Sending a query to the engine beside the pool's would interleave with the
      // pool's extended-protocol messages.)
      if (pool.totalCount > 0 && pool.idleCount === 0) return;
      await ping(pool);
    },
    async close() {
      await pool.end();
      await pglite.close();
      lock.release();
    },
  };
}
