import type pg from 'pg';
import { AppError } from '../errors.js';
import type { SourceFormat } from '../ingest/formats.js';

/** A stored document, without its chunks. */
export interface DocumentRecord {
  id: number;
  siteId: number;
  source: string;
  title: string;
  url: string | null;
  fileName: string | null;
  format: SourceFormat;
  contentHash: string;
  metadata: Record<string, unknown>;
  status: 'processing' | 'ready' | 'failed';
  chunkCount: number;
  byteSize: number;
  createdAt: Date;
  updatedAt: Date;
}

interface DocumentRow {
  id: number;
  site_id: number;
  source: string;
  title: string;
  url: string | null;
  file_name: string | null;
  format: SourceFormat;
  content_hash: string;
  metadata: Record<string, unknown>;
  status: DocumentRecord['status'];
  chunk_count: number;
  byte_size: number;
  created_at: Date;
  updated_at: Date;
}

export const DOCUMENT_COLUMNS = `id, site_id, source, title, url, file_name, format, content_hash, metadata, status,
  chunk_count, byte_size, created_at, updated_at`;

export function toDocument(row: DocumentRow): DocumentRecord {
  return {
    id: row.id,
    siteId: row.site_id,
    source: row.source,
    title: row.title,
    url: row.url,
    fileName: row.file_name,
    format: row.format,
    contentHash: row.content_hash,
    metadata: row.metadata,
    status: row.status,
    chunkCount: row.chunk_count,
    byteSize: row.byte_size,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** The site's documents with these sources, by source. */
export async function findDocumentsBySources(
  db: pg.Pool | pg.PoolClient,
  siteId: number,
  sources: readonly string[],
): Promise<Map<string, DocumentRecord>> {
  const { rows } = await db.query<DocumentRow>(
    `select ${DOCUMENT_COLUMNS} from documents where site_id = $1 and source = any($2::text[])`,
    [siteId, sources],
  );
  return new Map(rows.map((row) => [row.source, toDocument(row)]));
}

export async function getDocument(
  db: pg.Pool,
  siteId: number,
  id: number,
): Promise<DocumentRecord> {
  const { rows } = await db.query<DocumentRow>(
    `select ${DOCUMENT_COLUMNS} from documents where site_id = $1 and id = $2`,
    [siteId, id],
  );
  if (rows[0] === undefined) throw new AppError('not_found', `no document ${id} in this site`);
  return toDocument(rows[0]);
}

/** One page of a site's documents, newest first; `before` is the last id of the previous page. */
export async function listDocuments(
  db: pg.Pool,
  siteId: number,
  page: { limit: number; before?: number | undefined },
): Promise<{ documents: DocumentRecord[]; nextBefore: number | null }> {
  const { rows } = await db.query<DocumentRow>(
    `select ${DOCUMENT_COLUMNS} from documents
     where site_id = $1 and ($2::bigint is null or id < $2)
     order by id desc limit $3`,
    [siteId, page.before ?? null, page.limit + 1],
  );
  const documents = rows.slice(0, page.limit).map(toDocument);
  const last = documents.at(-1);
  return { documents, nextBefore: rows.length > page.limit && last !== undefined ? last.id : null };
}

/** Deletes a document; its chunks go with it (foreign key cascade). */
export async function deleteDocumentRow(
  client: pg.PoolClient,
  siteId: number,
  id: number,
): Promise<void> {
  const { rowCount } = await client.query('delete from documents where site_id = $1 and id = $2', [
    siteId,
    id,
  ]);
  if (rowCount === 0) throw new AppError('not_found', `no document ${id} in this site`);
}

/** Fields written when a document is created or replaced. */
export type DocumentWrite = Pick<
  DocumentRecord,
  | 'source'
  | 'title'
  | 'url'
  | 'fileName'
  | 'format'
  | 'contentHash'
  | 'metadata'
  | 'chunkCount'
  | 'byteSize'
>;

/** Inserts the document, or overwrites the one with the same source; returns it. */
export async function upsertDocument(
  client: pg.PoolClient,
  siteId: number,
  doc: DocumentWrite,
): Promise<{ document: DocumentRecord; created: boolean }> {
  const { rows } = await client.query<DocumentRow & { created: boolean }>(
    `insert into documents (site_id, source, title, url, file_name, format, content_hash, metadata, chunk_count, byte_size)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     on conflict (site_id, source) do update set
       title = excluded.title, url = excluded.url, file_name = excluded.file_name, format = excluded.format,
       content_hash = excluded.content_hash, metadata = excluded.metadata, chunk_count = excluded.chunk_count,
       byte_size = excluded.byte_size, status = 'ready', updated_at = now()
     returning ${DOCUMENT_COLUMNS}, (xmax = 0) as created`,
    [
      siteId,
      doc.source,
      doc.title,
      doc.url,
      doc.fileName,
      doc.format,
      doc.contentHash,
      doc.metadata,
      doc.chunkCount,
      doc.byteSize,
    ],
  );
  const row = rows[0]!;
  return { document: toDocument(row), created: row.created };
}

/**
 * Re-keys a document stored under its bare file name (before documents were keyed by path, see
 * migration 011) to the path now uploaded with that file name (`helpers/jwt.md` for `jwt.md`),
 * unless that path is stored already: the upload then replaces it instead of adding a second copy. Returns whether one was.
 */
export async function claimNameKeyedDocument(
  client: pg.PoolClient,
  siteId: number,
  path: string,
  fileName: string,
): Promise<boolean> {
  if (!path.endsWith(`/${fileName}`)) return false;
  const { rowCount } = await client.query(
    `update documents set source = $2, keyed_by_name = false
     where site_id = $1 and source = $3 and keyed_by_name
       and not exists (select 1 from documents where site_id = $1 and source = $2)`,
    [siteId, path, fileName],
  );
  return (rowCount ?? 0) > 0;
}
