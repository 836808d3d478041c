import type pg from 'pg';

/** Options of one transaction. */
export interface TransactionOptions {
  /**
   * `repeatable read` gives every statement of the transaction one snapshot (a search reads the
   * index version and both ranked lists from the same state). Default: PostgreSQL's own.
   */
  isolation?: 'repeatable read';
}

/** Runs `work` in one transaction on one pooled client; rolls back on any error. */
export async function withTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  const client = await pool.connect();
  try {
    return await inTransaction(client, work, options);
  } finally {
    client.release();
  }
}

/**
 * Runs `work` in one transaction on a client the caller already holds (e.g. one that keeps a
 * session advisory lock across several transactions); rolls back on any error.
 */
export async function inTransaction<T>(
  client: pg.PoolClient,
  work: (client: pg.PoolClient) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  await client.query(
    options.isolation === undefined ? 'begin' : `begin isolation level ${options.isolation}`,
  );
  try {
    const result = await work(client);
    await client.query('commit');
    return result;
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  }
}

/**
 * Runs read-only `work` in one repeatable-read transaction (one snapshot for every statement)
 * and answers as soon as the work is done: the commit, which changes nothing in a read-only
 * transaction, finishes before the client goes back to the pool, but the caller does not wait a
 * round trip for it (a search's latency).
 */
export async function withSnapshot<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let result: T;
  try {
    await client.query('begin isolation level repeatable read read only');
    result = await work(client);
  } catch (error) {
    await client.query('rollback').catch(() => {});
    client.release();
    throw error;
  }
  client.query('commit').then(
    () => client.release(),
    // A client whose commit failed is broken: the pool discards it.
    (error: Error) => client.release(error),
  );
  return result;
}
