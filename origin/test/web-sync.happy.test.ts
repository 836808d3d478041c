import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  htmlPage,
  renderHonoSite,
  setSitemap,
  startWebServer,
  type TestWebServer,
} from '../../test/web-site.js';
import { type Harness, startHarness } from './harness.js';

const SYNC_ENV = { CRAWL_ALLOW_HOSTS: '127.0.0.1', SYNC_SCHEDULER_MS: '0' };

describe(`web sources: sitemap sync of the rendered Hono docs (${process.env.TEST_DB ?? 'pglite'})`, () => {
  let h: Harness;
  let web: TestWebServer;
  let pageCount: number;
  let sourceId: number;

  const embedded = async () =>
    (await h.services.metrics.ingestedChunks.get()).values[0]?.value ?? 0;
  const docs = async (site = 'hono') =>
    (
      await h.services.db.pool.query<{ source: string; url: string; chunk_count: number }>(
        `select d.source, d.url, d.chunk_count from documents d join sites s on s.id = d.site_id
         where s.name = $1 order by d.source`,
        [site],
      )
    ).rows;
  const sync = async (body: Record<string, unknown> = {}, site = 'hono') => {
    const response = await h.request('POST', `/api/v1/sites/${site}/sync`, { json: body });
    expect(response.status).toBe(200);
    return (await response.json()).runs[0];
  };

  beforeAll(async () => {
    const pages = renderHonoSite();
    pageCount = [...pages.values()].filter((p) => p.type.startsWith('text/html')).length;
    web = await startWebServer(pages);
    h = await startHarness({ env: SYNC_ENV });
    await h.createSite('hono');
  });
  afterAll(async () => {
    await h?.close();
    await web?.close();
  });

  it('adds a sitemap source whose private header is never returned', async () => {
    const response = await h.request('POST', '/api/v1/sites/hono/sources', {
      json: {
        sitemap: `${web.origin}/sitemap.xml`,
        header: { name: 'X-Docs-Token', value: 'secret-docs-token-123' },
      },
    });
    expect(response.status).toBe(201);
    const text = await response.text();
    expect(text).not.toContain('secret-docs-token-123');
    const { source } = JSON.parse(text);
    expect(source).toMatchObject({ kind: 'sitemap', header: { name: 'X-Docs-Token' } });
    sourceId = source.id;
    const list = await (await h.request('GET', '/api/v1/sites/hono/sources')).text();
    expect(list).not.toContain('secret-docs-token-123');
  });

  it('ingests every page of the site, each document keeping its URL', async () => {
    expect(pageCount).toBeGreaterThan(50);
    const run = await sync();
    expect(run.stats).toMatchObject({ seen: pageCount, added: pageCount, failed: 0, removed: 0 });
    const stored = await docs();
    expect(stored).toHaveLength(pageCount);
    expect(stored.every((d) => d.url === d.source && d.url.startsWith(`${web.origin}/docs/`))).toBe(
      true,
    );
    const search = await h.request('POST', '/api/v1/sites/hono/search', {
      json: { query: 'How do I read a cookie with getCookie?' },
    });
    const { results } = await search.json();
    expect(results[0].url).toBe(`${web.origin}/docs/helpers/cookie`);
  });

  it('re-syncs the unchanged site with conditional GETs and embeds nothing', async () => {
    web.reset();
    const before = await embedded();
    const started = performance.now();
    const run = await sync();
    expect(performance.now() - started).toBeLessThan(20_000);
    expect(run.stats).toMatchObject({
      seen: pageCount,
      unchanged: pageCount,
      added: 0,
      updated: 0,
    });
    expect(web.notModified).toBe(pageCount);
    expect(await embedded()).toBe(before);
    const metrics = await (await h.request('GET', '/metrics')).text();
    expect(metrics).toContain(`ragedge_sync_pages_total{outcome="added"} ${pageCount}`);
    expect(metrics).toContain(`ragedge_sync_pages_total{outcome="unchanged"} ${pageCount}`);
    expect(metrics).toContain('ragedge_sync_runs_total{status="ok"} 2');
  });

  it('re-embeds only a changed page, adds a new one and removes a deleted one', async () => {
    const changed = '/docs/helpers/cookie';
    const removed = '/docs/helpers/ssg';
    web.pages.set(changed, {
      body: htmlPage(
        'Cookie Helper',
        '<h1>Cookie Helper</h1><p>The zebracorn cookie recipe.</p>',
        [],
      ),
      type: 'text/html',
    });
    web.pages.set('/docs/new-page', {
      body: htmlPage('Brand new', '<h1>Brand new</h1><p>A page about quokkas.</p>', []),
      type: 'text/html',
    });
    web.pages.delete(removed);
    setSitemap(web.pages);
    const before = await embedded();
    const run = await sync();
    expect(run.stats).toMatchObject({ added: 1, updated: 1, removed: 1, failed: 0 });
    expect(run.stats.unchanged).toBe(pageCount - 2);
    const stored = await docs();
    const urls = stored.map((d) => d.url);
    expect(urls).not.toContain(`${web.origin}${removed}`);
    expect(urls).toContain(`${web.origin}/docs/new-page`);
    expect(await embedded()).toBe(before + 2); // one chunk each: the two small pages
    const { rows } = await h.services.db.pool.query(
      `select c.content from chunks c join documents d on d.id = c.document_id where d.url = $1`,
      [`${web.origin}${changed}`],
    );
    expect(rows.map((r) => r.content).join(' ')).toContain('zebracorn');
  });

  it('dry-runs without storing anything', async () => {
    web.pages.set('/docs/new-page', {
      body: htmlPage('Brand new', '<h1>Brand new</h1><p>Now about wombats.</p>', []),
      type: 'text/html',
    });
    const before = await h.counts();
    const run = await sync({ dryRun: true, sourceId });
    expect(run.dryRun).toBe(true);
    expect(run.stats).toMatchObject({ updated: 1, added: 0, removed: 0 });
    expect(await h.counts()).toEqual(before);
  });

  it('obeys robots.txt: a disallowed folder is not fetched and its pages go', async () => {
    const apiPages = (await docs()).filter((d) => d.url.includes('/docs/api/')).length;
    expect(apiPages).toBeGreaterThan(0);
    web.pages.set('/robots.txt', {
      body: 'User-agent: *\nDisallow: /docs/api/\n',
      type: 'text/plain',
    });
    web.reset();
    const run = await sync();
    expect(run.stats.removed).toBe(apiPages);
    expect([...web.hits.keys()].some((path) => path.startsWith('/docs/api/'))).toBe(false);
    expect((await docs()).some((d) => d.url.includes('/docs/api/'))).toBe(false);
  });

  it('refuses a redirect to a private address and keeps going', async () => {
    web.pages.set('/docs/moved', { body: '', type: 'text/html', redirect: 'http://10.20.30.40/' });
    setSitemap(web.pages);
    web.pages.set('/sitemap.xml', {
      ...web.pages.get('/sitemap.xml')!,
      body: String(web.pages.get('/sitemap.xml')!.body).replace(
        '</urlset>',
        '<url><loc>http://placeholder/docs/moved</loc></url></urlset>',
      ),
    });
    const run = await sync();
    expect(run.stats.failed).toBe(1);
    expect(run.failures[0]).toMatchObject({ url: `${web.origin}/docs/moved` });
    expect(run.failures[0].reason).toMatch(/private address/);
    const { sources } = await (await h.request('GET', '/api/v1/sites/hono/sources')).json();
    expect(sources[0].status).toMatchObject({ lastStatus: 'ok', running: false });
    expect(sources[0].status.lastStats.failed).toBe(1);
    expect(sources[0].status.lastError).toMatch(/private address/);
  });

  it('crawls from a start URL within its prefix, without fragments or tracking parameters', async () => {
    await h.createSite('crawled');
    const created = await h.request('POST', '/api/v1/sites/crawled/sources', {
      json: { url: `${web.origin}/docs/index`, pathPrefix: '/docs/', maxPages: 500 },
    });
    expect(created.status).toBe(201);
    const run = await sync({}, 'crawled');
    expect(run.stats.failed).toBe(0);
    const stored = await docs('crawled');
    const sitemapped = await docs('hono');
    // The crawl reaches every page the sitemap lists but the one no page links to.
    expect(stored.map((d) => d.url)).toEqual(
      sitemapped.map((d) => d.url).filter((url) => !url.endsWith('/docs/new-page')),
    );
    expect(stored.every((d) => !d.url.includes('#') && !d.url.includes('utm_'))).toBe(true);
    expect(stored.some((d) => d.url.includes('/docs/api/'))).toBe(false);
  });

  it('removes a source and the documents its pages became', async () => {
    const { sources } = await (await h.request('GET', '/api/v1/sites/crawled/sources')).json();
    const response = await h.request('DELETE', `/api/v1/sites/crawled/sources/${sources[0].id}`);
    expect(response.status).toBe(200);
    expect((await response.json()).deleted.documents).toBeGreaterThan(50);
    expect(await docs('crawled')).toHaveLength(0);
    expect((await docs('hono')).length).toBeGreaterThan(50);
  });
});
