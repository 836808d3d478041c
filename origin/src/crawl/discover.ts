import { createRequire } from 'node:module';
import type robotsParserType from 'robots-parser';
import type { SafeFetcher } from './safe-fetch.js';
import { parseSitemap, type SitemapEntry, sitemapText } from './sitemap.js';
import { canonicalUrl } from './urls.js';

// robots-parser is CommonJS whose typings declare an ES default export; require it as it is.
const robotsParser = createRequire(import.meta.url)(
  'robots-parser',
) as typeof robotsParserType.default;

/** The part of robots.txt a sync obeys. */
export interface Robots {
  isAllowed(url: string): boolean;
  /** Seconds between requests the site asks for (0 when it asks nothing). */
  crawlDelaySeconds: number;
}

/** The product token robots.txt groups are matched against. */
export const ROBOTS_TOKEN = 'RagEdgeBot';

/**
 * Reads the origin's robots.txt. A 4xx means no rules (the usual reading); a 5xx or a network
 * failure stops the sync, since a server in trouble may be hiding rules we must obey.
 */
export async function fetchRobots(
  fetcher: SafeFetcher,
  origin: string,
  signal?: AbortSignal,
): Promise<Robots> {
  const url = `${origin}/robots.txt`;
  const response = await fetcher.get(url, signal === undefined ? {} : { signal });
  if (response.status >= 500) throw new Error(`${url} answered ${response.status}`);
  const text = response.status === 200 ? new TextDecoder().decode(response.body) : '';
  const robots = robotsParser(url, text);
  return {
    isAllowed: (page) => robots.isAllowed(page, ROBOTS_TOKEN) !== false,
    crawlDelaySeconds: robots.getCrawlDelay(ROBOTS_TOKEN) ?? 0,
  };
}

/** Sitemaps read per sync, across nested indexes: bounds a maze of indexes. */
const MAX_SITEMAPS = 100;
const MAX_INDEX_DEPTH = 3;

/**
 * The pages a sitemap (or a sitemap index, plain or gzipped) lists, canonicalized and
 * deduplicated, stopping at `limit` pages. Any sitemap that cannot be read fails the whole
 * listing: a partial list must not make the sync delete the pages it missed.
 */
export async function collectSitemap(
  fetcher: SafeFetcher,
  url: string,
  options: {
    limit: number;
    /** Which listed pages to keep (scope, robots); the others do not count toward `limit`. */
    accept: (url: string) => boolean;
    headers?: Record<string, string>;
    signal?: AbortSignal;
  },
): Promise<SitemapEntry[]> {
  const pages = new Map<string, SitemapEntry>();
  const visited = new Set<string>();
  let frontier = [url];
  for (let depth = 0; depth <= MAX_INDEX_DEPTH && frontier.length > 0; depth++) {
    const next: string[] = [];
    for (const sitemap of frontier) {
      if (visited.has(sitemap) || visited.size >= MAX_SITEMAPS || pages.size >= options.limit)
        continue;
      visited.add(sitemap);
      const response = await fetcher.get(sitemap, {
        ...(options.headers === undefined ? {} : { headers: options.headers }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      if (response.status !== 200)
        throw new Error(`sitemap ${sitemap} answered ${response.status}`);
      const parsed = parseSitemap(sitemapText(response.body));
      for (const entry of parsed.pages) {
        const canonical = canonicalUrl(entry.url);
        if (canonical === null || pages.has(canonical) || !options.accept(canonical)) continue;
        pages.set(canonical, { url: canonical, lastmod: entry.lastmod });
        if (pages.size >= options.limit) break;
      }
      for (const child of parsed.sitemaps) {
        const canonical = canonicalUrl(child, sitemap);
        if (canonical !== null) next.push(canonical);
      }
    }
    frontier = next;
  }
  return [...pages.values()];
}
