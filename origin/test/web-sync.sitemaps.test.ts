import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  htmlPage,
  type SitePage,
  startWebServer,
  type TestWebServer,
} from '../../test/web-site.js';
import { type Harness, startHarness } from './harness.js';

const PAGES = 6;

/** A sitemap of the pages with their lastmod dates (served gzipped as /pages.xml.gz). */
function urlset(lastmods: string[]): string {
  const urls = lastmods
    .map(
      (lastmod, i) =>
        `<url><loc>http://placeholder/docs/p${i}</loc><lastmod>${lastmod}</lastmod></url>`,
    )
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">${urls}</urlset>`;
}

describe(`web sources: sitemap indexes, gzip, lastmod and crawl delay (${process.env.TEST_DB ?? 'pglite'})`, () => {
  let h: Harness;
  let web: TestWebServer;
  const lastmods = Array.from({ length: PAGES }, () => '2026-01-01');
  const pageHits = () => [...web.hits.entries()].filter(([path]) => path.startsWith('/docs/'));
  const sync = async () =>
    (await (await h.request('POST', '/api/v1/sites/docs/sync', { json: {} })).json()).runs[0];

  beforeAll(async () => {
    const pages = new Map<string, SitePage>();
    for (let i = 0; i < PAGES; i++) {
      pages.set(`/docs/p${i}`, {
        body: htmlPage(`P${i}`, `<h1>P${i}</h1><p>Page ${i} is about badgers.</p>`, []),
        type: 'text/html',
      });
    }
    // The index names a gzipped child that the server makes from /pages.xml.
    pages.set('/index.xml', {
      body: '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>http://placeholder/pages.xml.gz</loc></sitemap></sitemapindex>',
      type: 'application/xml',
    });
    pages.set('/pages.xml', { body: urlset(lastmods), type: 'application/xml' });
    pages.set('/robots.txt', {
      body: 'User-agent: RagEdgeBot\nCrawl-delay: 0.25\n',
      type: 'text/plain',
    });
    pages.set('/crawl/a', {
      body: htmlPage('A', '<h1>A</h1><p>Page A about voles.</p>', ['/crawl/b', '/crawl/c']),
      type: 'text/html',
    });
    pages.set('/crawl/b', {
      body: htmlPage('B', '<h1>B</h1><p>Page B about moles.</p>', ['/crawl/a']),
      type: 'text/html',
    });
    pages.set('/crawl/c', {
      body: htmlPage('C', '<h1>C</h1><p>Page C about shrews.</p>', ['/crawl/a']),
      type: 'text/html',
    });
    web = await startWebServer(pages);
    h = await startHarness({ env: { CRAWL_ALLOW_HOSTS: '127.0.0.1', SYNC_SCHEDULER_MS: '0' } });
    await h.createSite('docs');
    const created = await h.request('POST', '/api/v1/sites/docs/sources', {
      json: { sitemap: `${web.origin}/index.xml` },
    });
    expect(created.status).toBe(201);
  });
  afterAll(async () => {
    await h?.close();
    await web?.close();
  });

  it('reads a sitemap index whose child is gzipped, one page at a time as robots.txt asks', async () => {
    const started = performance.now();
    const run = await sync();
    const seconds = (performance.now() - started) / 1000;
    expect(run.stats).toMatchObject({ seen: PAGES, added: PAGES, failed: 0 });
    expect(web.hits.get('/pages.xml.gz')).toBe(1);
    // Six requests spaced by the 0.25 s crawl delay: at least 5 gaps.
    expect(seconds).toBeGreaterThanOrEqual(1.25);
  });

  it('skips pages whose lastmod did not move without requesting them, and fetches the one that moved', async () => {
    web.reset();
    const unchanged = await sync();
    expect(unchanged.stats).toMatchObject({ seen: PAGES, unchanged: PAGES });
    expect(pageHits()).toEqual([]);
    lastmods[2] = '2026-02-02';
    web.pages.set('/pages.xml', { body: urlset(lastmods), type: 'application/xml' });
    web.pages.set('/docs/p2', {
      body: htmlPage('P2', '<h1>P2</h1><p>Page 2 is now about otters.</p>', []),
      type: 'text/html',
    });
    web.reset();
    const moved = await sync();
    expect(moved.stats).toMatchObject({ updated: 1, unchanged: PAGES - 1 });
    expect(pageHits()).toEqual([['/docs/p2', 1]]);
  });

  it('drops the old document when a page takes a new canonical URL', async () => {
    web.pages.set('/docs/p3', {
      body: '<!doctype html><html><head><title>P3</title><link rel="canonical" href="/docs/p3-renamed"></head><body><main><h1>P3</h1><p>Page 3 is about hedgehogs.</p></main></body></html>',
      type: 'text/html',
    });
    lastmods[3] = '2026-03-03';
    web.pages.set('/pages.xml', { body: urlset(lastmods), type: 'application/xml' });
    const run = await sync();
    expect(run.stats).toMatchObject({ added: 1, failed: 0 });
    const { rows } = await h.services.db.pool.query<{ url: string }>(
      `select url from documents where url like '%/docs/p3%'`,
    );
    expect(rows.map((r) => r.url)).toEqual([`${web.origin}/docs/p3-renamed`]);
  });

  it('a crawl that cannot read a page removes only the pages known to be gone', async () => {
    await h.createSite('crawl');
    const created = await h.request('POST', '/api/v1/sites/crawl/sources', {
      json: { url: `${web.origin}/crawl/a` },
    });
    expect(created.status).toBe(201);
    const syncCrawl = async () =>
      (await (await h.request('POST', '/api/v1/sites/crawl/sync', { json: {} })).json()).runs[0];
    expect((await syncCrawl()).stats).toMatchObject({ added: 3, failed: 0 });
    const start = web.pages.get('/crawl/a')!;
    web.pages.set('/crawl/a', { ...start, status: 500 });
    // The start page fails: its links are those the last sync saw, and nothing is removed.
    expect((await syncCrawl()).stats).toMatchObject({ failed: 1, removed: 0, unchanged: 2 });
    web.pages.delete('/crawl/c');
    expect((await syncCrawl()).stats).toMatchObject({ failed: 1, removed: 1 });
    web.pages.set('/crawl/a', start);
    expect((await syncCrawl()).stats).toMatchObject({ failed: 0, removed: 0, unchanged: 2 });
    const { rows } = await h.services.db.pool.query<{ url: string }>(
      `select d.url from documents d join sites s on s.id = d.site_id where s.name = 'crawl' order by d.url`,
    );
    expect(rows.map((r) => r.url)).toEqual([`${web.origin}/crawl/a`, `${web.origin}/crawl/b`]);
  });
});
