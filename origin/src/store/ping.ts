import type pg from 'pg';

/** The cheapest round trip that proves the database answers (the health check's probe). */
export async function ping(db: pg.Pool): Promise<void> {
  await db.query('select 1');
}
