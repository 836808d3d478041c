import { createHash } from 'node:crypto';
import type { PageLinks } from '../crawl/links.js';
import type { Database } from '../db/database.js';
import type { StatisticsRefresher } from '../db/statistics.js';
import { withTransaction } from '../db/transaction.js';
import { ensureVectorIndex, type VectorIndexBuilds } from '../db/vector-index.js';
import { assertSiteEmbedder, embeddingText } from '../embedders/site-vectors.js';
import type { Embedder } from '../embedders/types.js';
import { AppError } from '../errors.js';
import { CHUNK_FORMAT, type Chunk, type ChunkOptions } from '../ingest/chunk.js';
import type { SourceFormat } from '../ingest/formats.js';
import type { ParseThread } from '../ingest/parse-thread.js';
import { BoundedQueue } from '../lib/bounded-queue.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../observability/metrics.js';
import { type ChunkWrite, deleteChunksOfDocuments, insertChunks } from '../store/chunks.js';
import {
  claimNameKeyedDocument,
  type DocumentRecord,
  deleteDocumentRow,
  findDocumentsBySources,
  upsertDocument,
} from '../store/documents.js';
import { lockSite, type Site, setSiteEmbedder } from '../store/sites.js';
import { embedAll } from './embed-all.js';

/** Longest title stored; longer derived titles are cut, longer given titles are refused upstream. */
export const MAX_TITLE_LENGTH = 500;

/** A document as submitted: text from JSON, or the bytes of an uploaded file. */
export interface IngestInput {
  format: SourceFormat;
  content: string | Uint8Array;
  title?: string | undefined;
  url?: string | undefined;
  fileName?: string | undefined;
  /** An uploaded file's path relative to the folder it was ingested from: its identity. */
  path?: string | undefined;
  metadata?: Record<string, unknown> | undefined;
}

/** Title and heading path as one line: embedded and searched with the chunk, shown in citations. */
function contextOf(doc: PreparedDocument, chunk: Chunk): string {
  return [doc.title, ...chunk.headingPath].join(' › ');
}

/** `getting-started.md` → `getting started`: a readable title for a page that has none. */
function titleFromName(fileName: string | undefined): string | undefined {
  const base = fileName
    ?.replace(/\.[A-Za-z0-9]{1,10}$/, '')
    .replace(/[-_]+/g, ' ')
    .trim();
  return base === '' ? undefined : base;
}

/**
 * Rows per chunk INSERT. PGlite runs each statement on the event loop (measured: 500 rows of a
 * 900 kB document held it 1.5-2.8 s under load), so it gets statements short enough to let
 * readers in between; on PostgreSQL building the statement is what holds the loop.
 */
function insertBatchFor(kind: Database['kind']): number {
  return kind === 'pglite' ? 10 : 100;
}

/** A document parsed and chunked, not yet embedded or stored. */
export interface PreparedDocument {
  title: string;
  source: string;
  url: string | null;
  fileName: string | null;
  format: SourceFormat;
  metadata: Record<string, unknown>;
  contentHash: string;
  chunks: Chunk[];
  byteSize: number;
}

export type IngestOutcome = 'created' | 'updated' | 'unchanged';

export interface IngestResult {
  document: DocumentRecord;
  outcome: IngestOutcome;
}

export interface IngestionDeps {
  db: Database;
  /** Parses and chunks documents off the event loop, bounded (see `ParseThread`). */
  parser: Pick<ParseThread, 'parse' | 'links'>;
  embedder: Embedder;
  chunking: ChunkOptions;
  embedBatchSize: number;
  logger: Logger;
  metrics?: Pick<Metrics, 'ingestedChunks'>;
  /** Told of every committed bulk write, so that the planner's statistics follow large ingests. */
  statistics?: Pick<StatisticsRefresher, 'noteWrites'>;
  /** Builds a dimension's vector index after its first bulk load; without it, before. */
  vectorIndexes?: Pick<VectorIndexBuilds, 'beforeWrite'>;
}

/**
 * Parse → chunk → embed → store. Everything slow happens before the transaction; the write
 * itself replaces a document and all its chunks at once, so a reader sees the old version or the
 * new one, never a mix.
 */
export class IngestionService {
  /** Embedding is CPU-bound: one document at a time, a bounded number waiting. */
  private readonly queue = new BoundedQueue('ingestion', 1, 32);

  constructor(private readonly deps: IngestionDeps) {}

  /** Validates, parses and chunks a document; stores nothing. Every bad input fails here. */
  async prepare(site: Site, input: IngestInput): Promise<PreparedDocument> {
    const label = input.fileName ?? input.url ?? input.title ?? 'the document';
    assertSiteEmbedder(site, this.deps.embedder);
    // parseDocument (in the parse thread) checks the bytes against the format, decodes strict
    // UTF-8, refuses NULs and enforces the text, nesting and time limits; then it chunks.
    const { parsed, chunks } = await this.deps.parser.parse(input.format, input.content, label);
    const title = (
      input.title ??
      parsed.title ??
      titleFromName(input.fileName) ??
      input.url ??
      'Untitled'
    )
      .trim()
      .slice(0, MAX_TITLE_LENGTH);
    const metadata = input.metadata ?? {};
    if (chunks.length === 0) {
      throw new AppError('unprocessable_document', `${label} has no text to index`);
    }
    return {
      title,
      // A file's identity is its relative path, so same-named files of two folders never collide.
      source: input.path ?? input.url ?? input.fileName ?? title,
      url: input.url ?? null,
      fileName: input.fileName ?? null,
      format: input.format,
      metadata,
      contentHash: this.hash({
        format: input.format,
        title,
        url: input.url ?? null,
        metadata,
        blocks: parsed.blocks,
      }),
      chunks,
      byteSize:
        typeof input.content === 'string'
          ? Buffer.byteLength(input.content)
          : input.content.byteLength,
    };
  }

  /**
   * Embeds and stores prepared documents, each replacing the one with the same source. All of
   * them are written in one transaction with bulk chunk inserts: the request stores all or
   * nothing, and a reader sees each document's old version or its new one, never a mix.
   */
  async storeAll(site: Site, docs: readonly PreparedDocument[]): Promise<IngestResult[]> {
    const sources = docs.map((doc) => doc.source);
    const duplicate = sources.find((source, index) => sources.indexOf(source) !== index);
    if (duplicate !== undefined) {
      throw new AppError(
        'validation_failed',
        `two documents of this request share the source "${duplicate}"`,
      );
    }
    const existing = await findDocumentsBySources(this.deps.db.pool, site.id, sources);
    const isUnchanged = (doc: PreparedDocument) => {
      const old = existing.get(doc.source);
      return old !== undefined && old.contentHash === doc.contentHash && old.status === 'ready';
    };
    const changed = docs.filter((doc) => !isUnchanged(doc));
    const texts = changed.flatMap((doc) =>
      doc.chunks.map((chunk) =>
        embeddingText({ context: contextOf(doc, chunk), content: chunk.text }),
      ),
    );
    const embeddings =
      texts.length === 0
        ? []
        : await this.queue.run(() => embedAll(this.deps.embedder, texts, this.deps.embedBatchSize));

    const { embedder } = this.deps;
    if (changed.length > 0)
      await (this.deps.vectorIndexes?.beforeWrite(embedder.dimension) ??
        ensureVectorIndex(this.deps.db.pool, embedder.dimension));
    const written =
      changed.length === 0
        ? new Map<string, IngestResult>()
        : await withTransaction(this.deps.db.pool, async (client) => {
            const locked = await lockSite(client, site.id, { bump: true });
            assertSiteEmbedder(locked, embedder);
            if (locked.embedder === null) await setSiteEmbedder(client, site.id, embedder);
            const results = new Map<string, IngestResult>();
            const rows: ChunkWrite[] = [];
            const replaced: number[] = [];
            let next = 0;
            for (const doc of changed) {
              // A document of an old site stored under this file's bare name becomes this one.
              if (doc.fileName !== null && !sources.includes(doc.fileName))
                await claimNameKeyedDocument(client, site.id, doc.source, doc.fileName);
              const { document, created } = await upsertDocument(client, site.id, {
                ...doc,
                chunkCount: doc.chunks.length,
              });
              if (!created) replaced.push(document.id);
              results.set(doc.source, { document, outcome: created ? 'created' : 'updated' });
              for (const chunk of doc.chunks) {
                rows.push({
                  documentId: document.id,
                  position: chunk.position,
                  headingPath: chunk.headingPath,
                  context: contextOf(doc, chunk),
                  content: chunk.text,
                  tokenCount: chunk.tokenCount,
                  embedding: embeddings[next++]!,
                });
              }
            }
            await deleteChunksOfDocuments(client, replaced);
            await insertChunks(client, site.id, rows, insertBatchFor(this.deps.db.kind));
            return results;
          });
    // Counted after the commit: a rolled-back write stored nothing.
    this.deps.metrics?.ingestedChunks.inc(texts.length);
    if (texts.length > 0) this.deps.statistics?.noteWrites(texts.length);

    const results = docs.map(
      (doc) =>
        written.get(doc.source) ?? {
          document: existing.get(doc.source)!,
          outcome: 'unchanged' as const,
        },
    );
    for (const result of results) {
      if (result.outcome === 'unchanged') continue;
      this.deps.logger.info(
        {
          site: site.name,
          documentId: result.document.id,
          outcome: result.outcome,
          chunks: result.document.chunkCount,
        },
        'document ingested',
      );
    }
    return results;
  }

  /** The links and canonical URL of a fetched HTML page, read off the event loop. */
  links(html: Uint8Array, pageUrl: string): Promise<PageLinks> {
    return this.deps.parser.links(html, pageUrl);
  }

  /** `prepare` then `storeAll` for one document. */
  async ingest(site: Site, input: IngestInput): Promise<IngestResult> {
    const [result] = await this.storeAll(site, [await this.prepare(site, input)]);
    return result!;
  }

  async deleteDocument(site: Site, documentId: number): Promise<void> {
    await withTransaction(this.deps.db.pool, async (client) => {
      await lockSite(client, site.id, { bump: true });
      await deleteDocumentRow(client, site.id, documentId);
    });
  }

  private hash(value: unknown): string {
    // The chunk format is hashed too: a document stored in an older format is re-chunked when it
    // is ingested again, even though its text did not change (that is how a site is upgraded).
    const chunking = `${CHUNK_FORMAT}:${this.deps.chunking.maxTokens}/${this.deps.chunking.overlapTokens}`;
    return createHash('sha256').update(chunking).update(JSON.stringify(value)).digest('hex');
  }
}
