import type pg from 'pg';

/** Whether a signed-out session's hash is recorded (and not yet past its expiry). */
export async function isSignedOut(db: Pick<pg.Pool, 'query'>, hash: string): Promise<boolean> {
  const { rows } = await db.query(
    'select 1 from admin_signouts where session_hash = $1 and expires_at > now()',
    [hash],
  );
  return rows.length > 0;
}

/** Records a session as signed out until `expires`, and forgets the ones already expired. */
export async function recordSignOut(
  db: Pick<pg.Pool, 'query'>,
  hash: string,
  expires: Date,
): Promise<void> {
  await db.query('delete from admin_signouts where expires_at <= now()');
  await db.query(
    `insert into admin_signouts (session_hash, expires_at) values ($1, $2)
     on conflict (session_hash) do nothing`,
    [hash, expires],
  );
}
