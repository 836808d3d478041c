import type pg from 'pg';
import { withTransaction } from './transaction.js';

/** Advisory lock key for creating vector indexes, so two writers never race on the DDL. */
const VECTOR_INDEX_LOCK_KEY = 727_002;

/** Dimensions whose index is known to exist, per pool: indexes are never dropped at run time. */
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
