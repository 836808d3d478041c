import { withTransaction } from '../db/transaction.js';
import { lockSite, type Site } from '../store/sites.js';
import {
  listWebPages,
  removeOrphanDocument,
  removeWebPage,
  type SyncStats,
  upsertWebPage,
  type WebPage,
  type WebSource,
} from '../store/web-sources.js';
import { collectSitemap, fetchRobots, type Robots } from './discover.js';
import { fetchPage, type PageOutcome } from './page.js';
import type { Pace, SyncDeps } from './sync-deps.js';
import { canonicalUrl, inScope, type UrlScope } from './urls.js';

export type { Pace, SyncDeps };

/** How a sync went. */
export interface SyncReport {
  dryRun: boolean;
  stats: SyncStats;
  /** The first failures, for the status line (never the private header). */
  failures: Array<{ url: string; reason: string }>;
}

const MAX_REPORTED_FAILURES = 20;

/**
 * Syncs one web source into its site. Each page is stored in its own transaction (the document
 * and all its chunks together), so a run killed halfway leaves every page old or new. Pages are
 * deleted only when the listing was complete: a 404/410, or absent from a sitemap (or a crawl)
 * that was read to the end.
 */
export async function syncSource(
  deps: SyncDeps,
  site: Site,
  source: WebSource,
  options: { dryRun?: boolean; signal?: AbortSignal } = {},
): Promise<SyncReport> {
  const dryRun = options.dryRun === true;
  const start = new URL(source.url);
  const scope: UrlScope = {
    origin: start.origin,
    pathPrefix: source.kind === 'crawl' ? source.pathPrefix : '/',
    include: source.include,
    exclude: source.exclude,
  };
  const headers: Record<string, string> =
    source.headerName !== null && source.headerValue !== null
      ? { [source.headerName]: source.headerValue }
      : {};
  const signal = options.signal;
  const robots = await fetchRobots(deps.fetcher, start.origin, signal);
  const accept = (url: string) => inScope(url, scope) && robots.isAllowed(url);
  const known = await listWebPages(deps.db.pool, source.id);
  const stats: SyncStats = { seen: 0, added: 0, updated: 0, unchanged: 0, removed: 0, failed: 0 };
  const failures: SyncReport['failures'] = [];
  /** Pages to keep: fetched, unchanged, or failed for a reason that is not "gone". */
  const keep = new Set<string>();
  /** Pages that answered 404/410 (or left the scope): removed even when the listing is partial. */
  const gone = new Set<string>();
  const pace = pacer(robots, deps);

  const visit = async (url: string, lastmod: string | null): Promise<string[]> => {
    stats.seen += 1;
    const previous = known.get(url);
    let outcome: PageOutcome;
    try {
      outcome = await fetchPage(deps, site, source, url, {
        lastmod,
        previous,
        headers,
        dryRun,
        accept,
        pace,
        ...(signal === undefined ? {} : { signal }),
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      outcome = { kind: 'failed', reason: error instanceof Error ? error.message : String(error) };
    }
    deps.metrics?.syncPages.inc({ outcome: outcome.kind });
    if (outcome.kind === 'gone') {
      gone.add(url);
      return [];
    }
    keep.add(url);
    if (outcome.kind === 'failed') {
      stats.failed += 1;
      if (failures.length < MAX_REPORTED_FAILURES) failures.push({ url, reason: outcome.reason });
      return previous?.links ?? [];
    }
    stats[outcome.kind] += 1;
    if (!dryRun && outcome.page !== null) {
      await upsertWebPage(deps.db.pool, source.id, outcome.page);
      // The page now lives under another identity (a new canonical URL, a redirect): the
      // document it was is dropped unless another page still is it.
      const before = previous?.documentSource ?? null;
      if (before !== null && before !== outcome.page.documentSource) {
        await withTransaction(deps.db.pool, async (client) => {
          await lockSite(client, site.id, { bump: true });
          await removeOrphanDocument(client, site.id, before);
        });
      }
    }
    return outcome.page?.links ?? previous?.links ?? [];
  };

  if (source.kind === 'sitemap') {
    const entries = await collectSitemap(deps.fetcher, source.url, {
      limit: source.maxPages,
      accept,
      headers,
      ...(signal === undefined ? {} : { signal }),
    });
    await pool(entries, pace.concurrency, (entry) => visit(entry.url, entry.lastmod));
  } else {
    const first = canonicalUrl(source.url);
    const queued = new Set<string>(first !== null && accept(first) ? [first] : []);
    const frontier = [...queued];
    await pool(frontier, pace.concurrency, async (url) => {
      for (const link of await visit(url, null)) {
        if (queued.size >= source.maxPages) break;
        if (queued.has(link) || !accept(link)) continue;
        queued.add(link);
        frontier.push(link);
      }
    });
  }

  // A crawl that could not read a page may have missed the links behind it: then only pages
  // known to be gone are removed. A sitemap's listing does not depend on its pages.
  const complete = source.kind === 'sitemap' || stats.failed === 0;
  for (const page of known.values()) {
    if (keep.has(page.url) || (!complete && !gone.has(page.url))) continue;
    signal?.throwIfAborted();
    if (dryRun) {
      if (page.documentSource !== null) stats.removed += 1;
      continue;
    }
    const removed = await withTransaction(deps.db.pool, async (client) => {
      await lockSite(client, site.id, { bump: true });
      return removeWebPage(client, site.id, source.id, page);
    });
    if (removed) stats.removed += 1;
  }
  return { dryRun, stats, failures };
}

function pacer(robots: Robots, deps: SyncDeps): Pace {
  const delayMs = Math.min(robots.crawlDelaySeconds * 1000, deps.maxDelayMs);
  if (delayMs <= 0) return { concurrency: deps.concurrency, wait: async () => {} };
  let next = 0;
  return {
    concurrency: 1,
    async wait() {
      const now = Date.now();
      const at = Math.max(now, next);
      next = at + delayMs;
      if (at > now) await new Promise((resolve) => setTimeout(resolve, at - now));
    },
  };
}

/**
 * Runs `work` over `items` with at most `concurrency` at once. `items` may grow while it runs
 * (a crawl's frontier); it ends when every item is done.
 */
async function pool<T>(
  items: T[],
  concurrency: number,
  work: (item: T) => Promise<unknown>,
): Promise<void> {
  let index = 0;
  let active = 0;
  await new Promise<void>((resolve, reject) => {
    let failed = false;
    const pump = () => {
      if (failed) return;
      if (index >= items.length && active === 0) return resolve();
      while (active < concurrency && index < items.length) {
        const item = items[index++]!;
        active += 1;
        work(item).then(
          () => {
            active -= 1;
            pump();
          },
          (error: unknown) => {
            failed = true;
            reject(error);
          },
        );
      }
    };
    pump();
  });
}

export type { WebPage };
