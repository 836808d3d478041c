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
