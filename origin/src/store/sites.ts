import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { AppError } from '../errors.js';

/** A site: one knowledge base, with the widget's public key and allowed origins. */
export interface Site {
  id: number;
  name: string;
  title: string;
  publicKey: string;
  allowedOrigins: string[];
  embedder: string | null;
  embeddingDim: number | null;
  contentVersion: number;
  /** Per-site settings (suggested questions, hand-off link, language, webhook); see `SiteSettings`. */
  settings: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
}

/** A site with its document and chunk counts. */
export interface SiteWithCounts extends Site {
  documentCount: number;
  chunkCount: number;
}

const SITE_COLUMNS = `s.id, s.name, s.title, s.public_key, s.allowed_origins, s.embedder, s.embedding_dim,
  s.content_version, s.settings, s.created_at, s.updated_at`;

interface SiteRow {
  id: number;
  name: string;
  title: string;
  public_key: string;
  allowed_origins: string[];
  embedder: string | null;
  embedding_dim: number | null;
  content_version: number;
  settings: Record<string, unknown> | null;
  created_at: Date;
  updated_at: Date;
  document_count?: number;
  chunk_count?: number;
}

function toSite(row: SiteRow): Site {
  return {
    id: row.id,
    name: row.name,
    title: row.title,
    publicKey: row.public_key,
    allowedOrigins: row.allowed_origins,
    embedder: row.embedder,
    embeddingDim: row.embedding_dim,
    contentVersion: row.content_version,
    settings: row.settings ?? {},
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toSiteWithCounts(row: SiteRow): SiteWithCounts {
  return {
    ...toSite(row),
    documentCount: row.document_count ?? 0,
    chunkCount: row.chunk_count ?? 0,
  };
}

/** A new public site key: not a secret, but unguessable so that keys cannot be enumerated. */
export function newPublicKey(): string {
  return `pk_${randomBytes(18).toString('base64url')}`;
}

export async function createSite(
  db: pg.Pool,
  input: { name: string; title: string; allowedOrigins: string[] },
): Promise<Site> {
  const { rows } = await db.query<SiteRow>(
    `insert into sites as s (name, title, public_key, allowed_origins) values ($1, $2, $3, $4)
     on conflict (name) do nothing
     returning ${SITE_COLUMNS}`,
    [input.name, input.title, newPublicKey(), input.allowedOrigins],
  );
  const row = rows[0];
  if (row === undefined)
    throw new AppError('conflict', `a site named "${input.name}" already exists`);
  return toSite(row);
}

const COUNTS = `(select count(*) from documents d where d.site_id = s.id) as document_count,
  (select count(*) from chunks c where c.site_id = s.id) as chunk_count`;

export async function listSites(db: pg.Pool): Promise<SiteWithCounts[]> {
  const { rows } = await db.query<SiteRow>(
    `select ${SITE_COLUMNS}, ${COUNTS} from sites s order by s.name`,
  );
  return rows.map(toSiteWithCounts);
}

/**
 * The first `limit` sites by name with their public keys and the embedder that built each, and
 * how many there are in all: what
 * the start banner shows without reading every site of a large deployment.
 */
export async function siteKeys(
  db: pg.Pool,
  limit: number,
): Promise<{
  sites: Array<{ name: string; publicKey: string; embedder: string | null }>;
  total: number;
}> {
  const { rows } = await db.query<{
    name: string;
    public_key: string;
    embedder: string | null;
    total: number;
  }>(
    `select name, public_key, embedder, count(*) over ()::int as total
       from sites order by name limit $1`,
    [limit],
  );
  return {
    sites: rows.map((row) => ({
      name: row.name,
      publicKey: row.public_key,
      embedder: row.embedder,
    })),
    total: rows[0]?.total ?? 0,
  };
}

/** The form of a site's public key; readers may name a site by it on the chat and search routes. */
export const PUBLIC_KEY = /^pk_[A-Za-z0-9_-]{24}$/;

/** The site whose public key is `key`; a 404 `AppError` when there is none. */
export async function getSiteByPublicKey(db: pg.Pool | pg.PoolClient, key: string): Promise<Site> {
  const { rows } = await db.query<SiteRow>(
    `select ${SITE_COLUMNS} from sites s where s.public_key = $1`,
    [key],
  );
  const row = rows[0];
  if (row === undefined) throw new AppError('not_found', 'no site has this public key');
  return toSite(row);
}

/** The site named `name`; a 404 `AppError` when there is none. */
export async function getSite(db: pg.Pool | pg.PoolClient, name: string): Promise<Site> {
  const { rows } = await db.query<SiteRow>(
    `select ${SITE_COLUMNS} from sites s where s.name = $1`,
    [name],
  );
  const row = rows[0];
  if (row === undefined) throw new AppError('not_found', `no site named "${name}"`);
  return toSite(row);
}

/** The site with this id (for work that holds an id, such as a scheduled sync). */
export async function getSiteById(db: pg.Pool | pg.PoolClient, id: number): Promise<Site> {
  const { rows } = await db.query<SiteRow>(`select ${SITE_COLUMNS} from sites s where s.id = $1`, [
    id,
  ]);
  if (rows[0] === undefined) throw new AppError('not_found', `no site ${id}`);
  return toSite(rows[0]);
}

export async function getSiteWithCounts(db: pg.Pool, name: string): Promise<SiteWithCounts> {
  const { rows } = await db.query<SiteRow>(
    `select ${SITE_COLUMNS}, ${COUNTS} from sites s where s.name = $1`,
    [name],
  );
  const row = rows[0];
  if (row === undefined) throw new AppError('not_found', `no site named "${name}"`);
  return toSiteWithCounts(row);
}

export async function updateSite(
  db: pg.Pool,
  name: string,
  patch: {
    title?: string | undefined;
    allowedOrigins?: string[] | undefined;
    rotateKey?: boolean | undefined;
    /** Merged into the stored settings; a key set to null is removed. */
    settings?: Record<string, unknown> | undefined;
  },
): Promise<Site> {
  const { rows } = await db.query<SiteRow>(
    `update sites as s set
       title = coalesce($2, s.title),
       allowed_origins = coalesce($3, s.allowed_origins),
       public_key = case when $4 then $5 else s.public_key end,
       settings = case when $6::jsonb is null then s.settings
                       else jsonb_strip_nulls(s.settings || $6::jsonb) end,
       updated_at = now()
     where s.name = $1
     returning ${SITE_COLUMNS}`,
    [
      name,
      patch.title ?? null,
      patch.allowedOrigins ?? null,
      patch.rotateKey === true,
      newPublicKey(),
      patch.settings === undefined ? null : JSON.stringify(patch.settings),
    ],
  );
  const row = rows[0];
  if (row === undefined) throw new AppError('not_found', `no site named "${name}"`);
  return toSite(row);
}

export async function deleteSite(db: pg.Pool, name: string): Promise<void> {
  const { rowCount } = await db.query('delete from sites where name = $1', [name]);
  if (rowCount === 0) throw new AppError('not_found', `no site named "${name}"`);
}

/**
 * Locks the site row for the rest of the transaction. Every write to a site's documents takes
 * this lock first, so writers of one site are serialized and the embedder check cannot race.
 * With `bump`, the same statement also marks a change to the site's documents (cached answers
 * keyed on the content version go stale); a rollback undoes it with the rest.
 */
export async function lockSite(
  client: pg.PoolClient,
  siteId: number,
  options: { bump?: boolean } = {},
): Promise<Site> {
  const { rows } = await client.query<SiteRow>(
    options.bump === true
      ? `update sites as s set content_version = s.content_version + 1, updated_at = now() where s.id = $1
         returning ${SITE_COLUMNS}`
      : `select ${SITE_COLUMNS} from sites s where s.id = $1 for update`,
    [siteId],
  );
  const row = rows[0];
  if (row === undefined) throw new AppError('not_found', 'the site was deleted');
  return toSite(row);
}

/**
 * Records the embedder whose vectors the site now holds (after its first ingest, or a reindex):
 * searches and later writes are checked against it. Call it inside the transaction that holds
 * the site lock and writes those vectors.
 */
export async function setSiteEmbedder(
  client: pg.PoolClient,
  siteId: number,
  embedder: { id: string; dimension: number },
): Promise<void> {
  await client.query('update sites set embedder = $2, embedding_dim = $3 where id = $1', [
    siteId,
    embedder.id,
    embedder.dimension,
  ]);
}

/** How many sites exist (a first start seeds the demo site only into an empty database). */
export async function countSites(db: pg.Pool): Promise<number> {
  const { rows } = await db.query<{ n: number }>('select count(*)::int as n from sites');
  return rows[0]?.n ?? 0;
}
