import { formatFromMediaType } from '../ingest/formats.js';
import { findDocumentsBySources } from '../store/documents.js';
import type { Site } from '../store/sites.js';
import type { WebPage, WebSource } from '../store/web-sources.js';
import type { Pace, SyncDeps } from './sync-deps.js';
import { canonicalUrl } from './urls.js';

/** What became of one page in a sync. `page` is what to remember of it (null: nothing new). */
export type PageOutcome =
  | { kind: 'added' | 'updated' | 'unchanged'; page: WebPage | null }
  | { kind: 'gone' }
  | { kind: 'failed'; reason: string };

export interface PageOptions {
  /** The sitemap's `lastmod` for the page, if any. */
  lastmod: string | null;
  previous: WebPage | undefined;
  /** The source's private header, if any. */
  headers: Record<string, string>;
  dryRun: boolean;
  accept: (url: string) => boolean;
  pace: Pace;
  signal?: AbortSignal;
}

/**
 * Fetches one page (conditionally when a previous sync saw it) and stores it as a document whose
 * source is its URL: its declared canonical URL when that is in scope, else the URL that answered.
 * An unchanged `lastmod` skips the request; a 304 or an unchanged content hash skips embedding.
 */
export async function fetchPage(
  deps: SyncDeps,
  site: Site,
  source: WebSource,
  url: string,
  options: PageOptions,
): Promise<PageOutcome> {
  const { previous, lastmod } = options;
  if (lastmod !== null && previous?.lastmod === lastmod && previous.documentSource !== null) {
    return { kind: 'unchanged', page: null };
  }
  const conditional: Record<string, string> = {};
  if (previous?.documentSource != null) {
    if (previous.etag !== null) conditional['if-none-match'] = previous.etag;
    if (previous.lastModified !== null) conditional['if-modified-since'] = previous.lastModified;
  }
  await options.pace.wait();
  const response = await deps.fetcher.get(url, {
    headers: { ...options.headers, ...conditional },
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  if (response.status === 304 && previous !== undefined) {
    // Nothing to remember unless the sitemap's lastmod moved: an unchanged page costs no write.
    return {
      kind: 'unchanged',
      page: previous.lastmod === lastmod ? null : { ...previous, lastmod },
    };
  }
  if (response.status === 404 || response.status === 410) return { kind: 'gone' };
  if (response.status !== 200) return { kind: 'failed', reason: `HTTP ${response.status}` };
  const answered = canonicalUrl(response.url) ?? url;
  // A redirect out of the source's scope takes the page out of it.
  if (answered !== url && !options.accept(answered)) return { kind: 'gone' };
  const format = formatFromMediaType(response.headers['content-type'], answered);
  if (format === null) {
    return {
      kind: 'failed',
      reason: `unsupported content type ${response.headers['content-type'] ?? '(none)'}`,
    };
  }
  // The page's DOM is built in the parse thread, like its main content below: a sync of hundreds
  // of pages must not take the event loop from readers.
  const found =
    format === 'html'
      ? await deps.ingestion.links(response.body, answered)
      : { canonical: null, links: [] };
  const documentUrl =
    found.canonical !== null && options.accept(found.canonical) ? found.canonical : answered;
  const prepared = await deps.ingestion.prepare(site, {
    format,
    content: response.body,
    url: documentUrl,
    metadata: { webSource: source.id },
  });
  const page: WebPage = {
    url,
    etag: response.headers.etag ?? null,
    lastModified: response.headers['last-modified'] ?? null,
    lastmod,
    documentSource: prepared.source,
    links: found.links,
  };
  if (options.dryRun) {
    const existing = await findDocumentsBySources(deps.db.pool, site.id, [prepared.source]);
    const old = existing.get(prepared.source);
    const kind =
      old === undefined
        ? 'added'
        : old.contentHash === prepared.contentHash
          ? 'unchanged'
          : 'updated';
    return { kind, page };
  }
  const [result] = await deps.ingestion.storeAll(site, [prepared]);
  const kind = result!.outcome === 'created' ? 'added' : result!.outcome;
  return { kind, page };
}
