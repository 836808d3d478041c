import type pg from 'pg';
import { withTransaction } from './transaction.js';

/** Advisory lock key for creating vector indexes, so two writers never race on the DDL. */
const VECTOR_INDEX_LOCK_KEY = 727_002;

/**
 * Dimensions whose index is known to exist, per pool. An index is dropped at run time only by
 * this module (a reindex that rewrites every vector of its dimension), which forgets it here.
 */
const knownIndexes = new WeakMap<pg.Pool, Set<number>>();

/** Name of the partial HNSW index that serves vectors of `dimension` floats. */
export function vectorIndexName(dimension: number): string {
  return `chunks_embedding_hnsw_${dimension}`;
}

/** The statement that builds the partial HNSW index of `dimension` (if it does not exist). */
export function vectorIndexDdl(dimension: number): string {
  if (!Number.isInteger(dimension) || dimension < 1 || dimension > 16_000) {
    throw new Error(`invalid vector dimension ${dimension}`);
  }
  return `create index if not exists ${vectorIndexName(dimension)} on chunks
       using hnsw ((embedding::vector(${dimension})) vector_cosine_ops)
       with (m = 16, ef_construction = 64)
       where vector_dims(embedding) = ${dimension}`;
}

/**
 * The `embedding` column is untyped so that sites embedded at different dimensions can share it.
 * pgvector indexes one dimension per index, through an expression cast and a partial predicate;
 * queries use the same expression (`embedding::vector(n)`) and predicate to reach it.
 */
export async function ensureVectorIndex(pool: pg.Pool, dimension: number): Promise<void> {
  if (!Number.isInteger(dimension) || dimension < 1 || dimension > 16_000) {
    throw new Error(`invalid vector dimension ${dimension}`);
  }
  const known = knownIndexes.get(pool) ?? new Set<number>();
  knownIndexes.set(pool, known);
  if (known.has(dimension)) return;
  const name = vectorIndexName(dimension);
  const { rows } = await pool.query('select 1 from pg_indexes where indexname = $1', [name]);
  if (rows.length > 0) {
    known.add(dimension);
    return;
  }
  await withTransaction(pool, async (client) => {
    await client.query('select pg_advisory_xact_lock($1)', [VECTOR_INDEX_LOCK_KEY]);
    await client.query(vectorIndexDdl(dimension));
  });
  known.add(dimension);
}

/** `maintenance_work_mem` of a build: the graph of ~200k 384-d vectors fits. */
export const DEFAULT_BUILD_MEMORY_MB = 512;

/** Whether the index of `dimension` exists. */
async function indexExists(db: pg.Pool | pg.PoolClient, dimension: number): Promise<boolean> {
  const { rows } = await db.query('select 1 from pg_indexes where indexname = $1', [
    vectorIndexName(dimension),
  ]);
  return rows.length > 0;
}

/** Whether the table holds vectors of `dimension` (of any site but `exceptSite`). */
async function holdsVectors(
  db: pg.Pool | pg.PoolClient,
  dimension: number,
  exceptSite: number | null,
): Promise<boolean> {
  const { rows } = await db.query(
    `select 1 from chunks where vector_dims(embedding) = $1 and ($2::bigint is null or site_id <> $2)
     limit 1`,
    [dimension, exceptSite],
  );
  return rows.length > 0;
}

/**
 * Builds the index of `dimension` over the rows already there: one pass that sorts the graph
 * out in memory, 2.3× cheaper than inserting the same rows into an existing graph one by one.
 * `maintenanceWorkMemMb` lets the graph fit in memory (a build that spills is several times
 * slower); it is set for this transaction only.
 */
export async function buildVectorIndex(
  pool: pg.Pool,
  dimension: number,
  maintenanceWorkMemMb = DEFAULT_BUILD_MEMORY_MB,
): Promise<void> {
  const ddl = vectorIndexDdl(dimension);
  const client = await pool.connect();
  try {
    await client.query('begin');
    await client.query('select pg_advisory_xact_lock($1)', [VECTOR_INDEX_LOCK_KEY]);
    // One parallel worker beside the leader: pgvector builds the graph on both cores of the
    // 2-vCPU VPS (a one-off, after a load; PGlite has no workers and builds alone). No
    // statement timeout: a large site's build takes longer than any request may.
    await client.query(
      `select set_config('maintenance_work_mem', $1, true),
              set_config('max_parallel_maintenance_workers', '1', true),
              set_config('statement_timeout', '0', true)`,
      [`${Math.max(1, Math.floor(maintenanceWorkMemMb))}MB`],
    );
    await client.query(ddl);
    await client.query('commit');
    knownIndexes.get(pool)?.add(dimension);
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/**
 * Before a write that replaces every vector of `siteId` (a reindex): drops the index of
 * `dimension` when no other site has vectors of that dimension, so that the rewrite goes in
 * without per-row graph maintenance and the caller builds the index once after it (returns
 * true). The index then serves no one but this site, whose searches meanwhile compare every
 * vector (exact, slower). Never waits long for the table lock the drop needs: under load it
 * keeps the index (returns false) and the rewrite maintains it row by row.
 */
export async function dropVectorIndexForRewrite(
  pool: pg.Pool,
  dimension: number,
  siteId: number,
): Promise<boolean> {
  vectorIndexDdl(dimension);
  const client = await pool.connect();
  try {
    await client.query('begin');
    await client.query('select pg_advisory_xact_lock($1)', [VECTOR_INDEX_LOCK_KEY]);
    if (await holdsVectors(client, dimension, siteId)) {
      await client.query('rollback');
      return false;
    }
    await client.query("set local lock_timeout = '2s'");
    await client.query(`drop index if exists ${vectorIndexName(dimension)}`);
    await client.query('commit');
    knownIndexes.get(pool)?.delete(dimension);
    return true;
  } catch {
    await client.query('rollback').catch(() => {});
    return false;
  } finally {
    client.release();
  }
}

/**
 * Vector indexes built after a first bulk load instead of maintained row by row during it.
 * When vectors of a dimension are first written (the table holds none, so no site's search
 * depends on that index), the writes go in without the index and it is built once no write has
 * begun for `idleMs` (or `maxDeferMs` after the first, so that a load that never pauses still
 * gets it); searches meanwhile compare every vector, exactly. The build takes a lock that
 * waits for writes in flight, so it indexes them too, and a write that begins during it waits
 * and then maintains the new index. Once the table holds vectors of a dimension, writes
 * maintain its index row by row as before: rebuilding a graph that other sites' searches use,
 * to save on a small write, would cost more than it saves. `idleMs` = 0 turns deferral off
 * (the index is created before the first write).
 */
export class VectorIndexBuilds {
  private readonly deferred = new Map<number, { since: number; timer: NodeJS.Timeout }>();
  private readonly building = new Map<number, Promise<void>>();
  private closed = false;

  constructor(
    private readonly deps: {
      pool: pg.Pool;
      idleMs: number;
      maxDeferMs: number;
      maintenanceWorkMemMb: number;
      onError?: (error: unknown, dimension: number) => void;
    },
  ) {}

  /** Before writing vectors of `dimension`: creates the index now, or defers it (see above). */
  async beforeWrite(dimension: number): Promise<void> {
    if (this.defer(dimension)) return;
    const { pool } = this.deps;
    if (this.deps.idleMs <= 0 || this.closed || knownIndexes.get(pool)?.has(dimension)) {
      return ensureVectorIndex(pool, dimension);
    }
    vectorIndexDdl(dimension);
    if ((await indexExists(pool, dimension)) || (await holdsVectors(pool, dimension, null))) {
      // Vectors are there already (another origin's deferred load, or one cut short): index them.
      return ensureVectorIndex(pool, dimension);
    }
    if (this.defer(dimension)) return;
    this.deferred.set(dimension, {
      since: performance.now(),
      timer: this.arm(dimension, performance.now()),
    });
  }

  /** Builds every deferred index now and waits for it (benchmarks, tests, a planned stop). */
  async flush(): Promise<void> {
    for (const [dimension, pending] of [...this.deferred]) {
      clearTimeout(pending.timer);
      this.startBuild(dimension);
    }
    await Promise.all(this.building.values());
  }

  /**
   * At boot: builds in the background the index of any dimension a site embeds with that has
   * none (a deferred build cut short by a stop), so that searches do not scan for long.
   */
  async recover(): Promise<void> {
    try {
      const { rows } = await this.deps.pool.query<{ dim: number }>(
        'select distinct embedding_dim as dim from sites where embedding_dim is not null',
      );
      for (const { dim } of rows) {
        if (this.closed || this.deferred.has(dim)) continue;
        if (
          !(await indexExists(this.deps.pool, dim)) &&
          (await holdsVectors(this.deps.pool, dim, null))
        )
          await buildVectorIndex(this.deps.pool, dim, this.deps.maintenanceWorkMemMb);
      }
    } catch (error) {
      this.deps.onError?.(error, 0);
    }
  }

  /** Cancels pending builds (the next boot's `recover` builds them). */
  close(): void {
    this.closed = true;
    for (const pending of this.deferred.values()) clearTimeout(pending.timer);
    this.deferred.clear();
  }

  /** A write of a deferred dimension: pushes its build back (within the deferral's limit). */
  private defer(dimension: number): boolean {
    const pending = this.deferred.get(dimension);
    if (pending === undefined) return false;
    clearTimeout(pending.timer);
    pending.timer = this.arm(dimension, pending.since);
    return true;
  }

  private arm(dimension: number, since: number): NodeJS.Timeout {
    const left = since + this.deps.maxDeferMs - performance.now();
    const timer = setTimeout(
      () => this.startBuild(dimension),
      Math.max(0, Math.min(this.deps.idleMs, left)),
    );
    timer.unref();
    return timer;
  }

  private startBuild(dimension: number): void {
    // Writes from now on find the index (or the build's lock) and go through `ensureVectorIndex`.
    this.deferred.delete(dimension);
    if (this.closed || this.building.has(dimension)) return;
    const build = buildVectorIndex(this.deps.pool, dimension, this.deps.maintenanceWorkMemMb)
      .catch((error: unknown) => this.deps.onError?.(error, dimension))
      .finally(() => this.building.delete(dimension));
    this.building.set(dimension, build);
  }
}
