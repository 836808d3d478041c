import type pg from 'pg';
import type { Database } from './database.js';

/** The site a read is for, as the primary saw it when the request began. */
export interface VersionedSite {
  id: number;
  contentVersion: number;
}

/**
 * The pool a lag-tolerant read of `site` should use: the replica when it has replayed the site's
 * latest content (its `content_version` is at least the one the primary gave this request),
 * else the primary, so that a reader never gets answers from documents the primary replaced.
 * A replica that cannot answer sends reads to the primary too; `onError` is told why.
 */
export async function readPoolFor(
  db: Pick<Database, 'pool' | 'replica'>,
  site: VersionedSite,
  onError?: (error: unknown) => void,
): Promise<pg.Pool> {
  if (db.replica === null) return db.pool;
  try {
    const { rows } = await db.replica.query<{ version: number }>(
      'select content_version::float8 as version from sites where id = $1',
      [site.id],
    );
    const version = rows[0]?.version;
    if (version !== undefined && version >= site.contentVersion) return db.replica;
  } catch (error) {
    onError?.(error);
  }
  return db.pool;
}
