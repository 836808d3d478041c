import type pg from 'pg';
import { AppError } from '../errors.js';

/** Counts of one sync run. */
export interface SyncStats {
  seen: number;
  added: number;
  updated: number;
  unchanged: number;
  removed: number;
  failed: number;
}

/** A site's web source: where its pages come from and how often they are re-read. */
export interface WebSource {
  id: number;
  siteId: number;
  kind: 'sitemap' | 'crawl';
  url: string;
  pathPrefix: string;
  include: string[];
  exclude: string[];
  maxPages: number;
  headerName: string | null;
  headerValue: string | null;
  intervalSeconds: number | null;
  nextRunAt: Date | null;
  leaseUntil: Date | null;
  lastStartedAt: Date | null;
  lastFinishedAt: Date | null;
  lastStatus: 'ok' | 'failed' | null;
  lastError: string | null;
  lastStats: SyncStats | null;
  createdAt: Date;
}

interface SourceRow {
  id: number;
  site_id: number;
  kind: WebSource['kind'];
  url: string;
  path_prefix: string;
  include_patterns: string[];
  exclude_patterns: string[];
  max_pages: number;
  header_name: string | null;
  header_value: string | null;
  interval_seconds: number | null;
  next_run_at: Date | null;
  lease_until: Date | null;
  last_started_at: Date | null;
  last_finished_at: Date | null;
  last_status: WebSource['lastStatus'];
  last_error: string | null;
  last_stats: SyncStats | null;
  created_at: Date;
}

const COLUMNS = `id, site_id, kind, url, path_prefix, include_patterns, exclude_patterns, max_pages,
  header_name, header_value, interval_seconds, next_run_at, lease_until, last_started_at,
  last_finished_at, last_status, last_error, last_stats, created_at`;

function toSource(row: SourceRow): WebSource {
  return {
    id: Number(row.id),
    siteId: Number(row.site_id),
    kind: row.kind,
    url: row.url,
    pathPrefix: row.path_prefix,
    include: row.include_patterns,
    exclude: row.exclude_patterns,
    maxPages: row.max_pages,
    headerName: row.header_name,
    headerValue: row.header_value,
    intervalSeconds: row.interval_seconds,
    nextRunAt: row.next_run_at,
    leaseUntil: row.lease_until,
    lastStartedAt: row.last_started_at,
    lastFinishedAt: row.last_finished_at,
    lastStatus: row.last_status,
    lastError: row.last_error,
    lastStats: row.last_stats,
    createdAt: row.created_at,
  };
}

/** Fields given when a source is created. */
export type WebSourceWrite = Pick<
  WebSource,
  | 'kind'
  | 'url'
  | 'pathPrefix'
  | 'include'
  | 'exclude'
  | 'maxPages'
  | 'headerName'
  | 'headerValue'
  | 'intervalSeconds'
>;

/** Creates a source; a scheduled one is due at once. */
export async function insertWebSource(
  db: pg.Pool,
  siteId: number,
  source: WebSourceWrite,
): Promise<WebSource> {
  const { rows } = await db.query<SourceRow>(
    `insert into web_sources (site_id, kind, url, path_prefix, include_patterns, exclude_patterns,
       max_pages, header_name, header_value, interval_seconds, next_run_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, case when $10::int is null then null else now() end)
     on conflict (site_id, url) do nothing
     returning ${COLUMNS}`,
    [
      siteId,
      source.kind,
      source.url,
      source.pathPrefix,
      source.include,
      source.exclude,
      source.maxPages,
      source.headerName,
      source.headerValue,
      source.intervalSeconds,
    ],
  );
  if (rows[0] === undefined) throw new AppError('conflict', `this site already has ${source.url}`);
  return toSource(rows[0]);
}

export async function listWebSources(db: pg.Pool, siteId: number): Promise<WebSource[]> {
  const { rows } = await db.query<SourceRow>(
    `select ${COLUMNS} from web_sources where site_id = $1 order by id`,
    [siteId],
  );
  return rows.map(toSource);
}

export async function getWebSource(db: pg.Pool, siteId: number, id: number): Promise<WebSource> {
  const { rows } = await db.query<SourceRow>(
    `select ${COLUMNS} from web_sources where site_id = $1 and id = $2`,
    [siteId, id],
  );
  if (rows[0] === undefined) throw new AppError('not_found', `no web source ${id} in this site`);
  return toSource(rows[0]);
}

/**
 * Deletes a source, and the documents its pages became, in one transaction.
 * Returns how many documents went.
 */
export async function deleteWebSource(
  client: pg.PoolClient,
  siteId: number,
  id: number,
): Promise<number> {
  const docs = await client.query(
    `delete from documents where site_id = $1 and source in
       (select document_source from web_pages where source_id = $2 and document_source is not null)`,
    [siteId, id],
  );
  const { rowCount } = await client.query(
    'delete from web_sources where site_id = $1 and id = $2',
    [siteId, id],
  );
  if (rowCount === 0) throw new AppError('not_found', `no web source ${id} in this site`);
  return docs.rowCount ?? 0;
}

/**
 * Takes the lease of a source for `leaseSeconds` unless another run holds it: one run of a source
 * at a time across every origin. Returns the source, or null when a run holds it.
 */
export async function claimWebSource(
  db: pg.Pool | pg.PoolClient,
  id: number,
  leaseSeconds: number,
): Promise<WebSource | null> {
  const { rows } = await db.query<SourceRow>(
    `update web_sources set lease_until = now() + make_interval(secs => $2), last_started_at = now()
     where id = $1 and (lease_until is null or lease_until < now())
     returning ${COLUMNS}`,
    [id, leaseSeconds],
  );
  return rows[0] === undefined ? null : toSource(rows[0]);
}

/** Extends a held lease: a run renews it while alive, so a killed origin's claim soon expires. */
export async function renewWebSourceLease(
  db: pg.Pool,
  id: number,
  leaseSeconds: number,
): Promise<void> {
  await db.query(
    'update web_sources set lease_until = now() + make_interval(secs => $2) where id = $1',
    [id, leaseSeconds],
  );
}

/**
 * Takes the transaction-scoped advisory lock `key` if no other session holds it; false when one
 * does (another origin's scheduler is claiming this tick). Released at commit or rollback.
 */
export async function tryTransactionLock(client: pg.PoolClient, key: number): Promise<boolean> {
  const { rows } = await client.query<{ ok: boolean }>(
    'select pg_try_advisory_xact_lock($1) as ok',
    [key],
  );
  return rows[0]?.ok === true;
}

/** Ids of scheduled sources whose next run has come and that no run holds, oldest first. */
export async function dueWebSourceIds(db: pg.PoolClient, limit: number): Promise<number[]> {
  const { rows } = await db.query<{ id: string }>(
    `select id from web_sources
     where interval_seconds is not null and next_run_at <= now()
       and (lease_until is null or lease_until < now())
     order by next_run_at limit $1`,
    [limit],
  );
  return rows.map((row) => Number(row.id));
}

/** Records a finished run, releases the lease and schedules the next run. */
export async function finishWebSourceRun(
  db: pg.Pool,
  id: number,
  outcome: { status: 'ok' | 'failed'; error: string | null; stats: SyncStats },
): Promise<void> {
  await db.query(
    `update web_sources set lease_until = null, last_finished_at = now(), last_status = $2,
       last_error = $3, last_stats = $4,
       next_run_at = case when interval_seconds is null then null
                          else now() + make_interval(secs => interval_seconds) end
     where id = $1`,
    [id, outcome.status, outcome.error, outcome.stats],
  );
}

/** What a previous sync stored about one page. */
export interface WebPage {
  url: string;
  etag: string | null;
  lastModified: string | null;
  lastmod: string | null;
  documentSource: string | null;
  links: string[];
}

export async function listWebPages(db: pg.Pool, sourceId: number): Promise<Map<string, WebPage>> {
  const { rows } = await db.query<{
    url: string;
    etag: string | null;
    last_modified: string | null;
    lastmod: string | null;
    document_source: string | null;
    links: string[];
  }>(
    'select url, etag, last_modified, lastmod, document_source, links from web_pages where source_id = $1',
    [sourceId],
  );
  return new Map(
    rows.map((r) => [
      r.url,
      {
        url: r.url,
        etag: r.etag,
        lastModified: r.last_modified,
        lastmod: r.lastmod,
        documentSource: r.document_source,
        links: r.links,
      },
    ]),
  );
}

export async function upsertWebPage(db: pg.Pool, sourceId: number, page: WebPage): Promise<void> {
  await db.query(
    `insert into web_pages (source_id, url, etag, last_modified, lastmod, document_source, links)
     values ($1, $2, $3, $4, $5, $6, $7)
     on conflict (source_id, url) do update set etag = excluded.etag,
       last_modified = excluded.last_modified, lastmod = excluded.lastmod,
       document_source = excluded.document_source, links = excluded.links, fetched_at = now()`,
    [
      sourceId,
      page.url,
      page.etag,
      page.lastModified,
      page.lastmod,
      page.documentSource,
      page.links,
    ],
  );
}

/**
 * Forgets a page and deletes the document it became, in one transaction, unless another of the
 * site's sources still has a page that became the same document.
 */
export async function removeWebPage(
  client: pg.PoolClient,
  siteId: number,
  sourceId: number,
  page: WebPage,
): Promise<boolean> {
  await client.query('delete from web_pages where source_id = $1 and url = $2', [
    sourceId,
    page.url,
  ]);
  if (page.documentSource === null) return false;
  return removeOrphanDocument(client, siteId, page.documentSource);
}

/** Deletes the site's document with this source unless a page of one of its sources still is it. */
export async function removeOrphanDocument(
  client: pg.PoolClient,
  siteId: number,
  documentSource: string,
): Promise<boolean> {
  const { rowCount } = await client.query(
    `delete from documents d where d.site_id = $1 and d.source = $2
       and not exists (select 1 from web_pages p join web_sources s on s.id = p.source_id
                       where s.site_id = $1 and p.document_source = $2)`,
    [siteId, documentSource],
  );
  return (rowCount ?? 0) > 0;
}
