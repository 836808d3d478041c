import type pg from 'pg';

/**
 * What the retention job prunes: rows of `table` whose `column` (a `timestamptz`) is older than
 * the retention period. Another feature that keeps readers' words (feedback, a questions log)
 * adds its table here and is pruned alike. Rows are deleted in this order; a table whose rows go
 * with a parent's (`on delete cascade`) may still be listed, for rows older than their parent.
 */
export const RETAINED_TABLES: ReadonlyArray<{ table: string; column: string }> = [
  { table: 'messages', column: 'created_at' },
  { table: 'conversations', column: 'updated_at' },
];

/** Rows one delete statement removes at most: short transactions, no long locks. */
const BATCH = 5_000;

/**
 * Deletes rows of `table` older than `days`, in batches of {@link BATCH}, until none is left or
 * `maxBatches` ran. Names come from {@link RETAINED_TABLES}, never from a request.
 */
export async function pruneOlderThan(
  db: pg.Pool,
  target: { table: string; column: string },
  days: number,
  maxBatches = 1_000,
): Promise<number> {
  const { table, column } = target;
  let deleted = 0;
  for (let i = 0; i < maxBatches; i++) {
    const result = await db.query(
      `delete from ${table} where ctid = any(array(
         select ctid from ${table} where ${column} < now() - make_interval(days => $1) limit $2))`,
      [days, BATCH],
    );
    deleted += result.rowCount ?? 0;
    if ((result.rowCount ?? 0) < BATCH) break;
  }
  return deleted;
}

/**
 * Deletes each site's conversations past its newest `keep` (by last message), with their
 * messages. Bounded per run like {@link pruneOlderThan}.
 */
export async function capConversationsPerSite(
  db: pg.Pool,
  keep: number,
  maxBatches = 1_000,
): Promise<number> {
  let deleted = 0;
  for (let i = 0; i < maxBatches; i++) {
    const result = await db.query(
      `delete from conversations where id in (
         select id from (
           select id, row_number() over (partition by site_id order by updated_at desc, id) as n
           from conversations
         ) ranked where n > $1 limit $2)`,
      [keep, BATCH],
    );
    deleted += result.rowCount ?? 0;
    if ((result.rowCount ?? 0) < BATCH) break;
  }
  return deleted;
}
