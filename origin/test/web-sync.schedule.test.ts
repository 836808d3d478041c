import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHonoSite, startWebServer, type TestWebServer } from '../../test/web-site.js';
import {
  createTestDatabase,
  type Harness,
  startHarness,
  TEST_DB,
  type TestDatabase,
} from './harness.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Two origins over one PostgreSQL database, both ticking their schedulers every 200 ms: a due
 * source is synced by exactly one of them. PGlite serves one process, so there it is one origin.
 */
describe(`scheduled syncs (${TEST_DB}): a due source runs on its own, on one origin of ${TEST_DB === 'postgres' ? 'two' : 'one'}`, () => {
  let database: TestDatabase;
  let web: TestWebServer;
  const origins: Harness[] = [];
  const env = {
    CRAWL_ALLOW_HOSTS: '127.0.0.1',
    SYNC_SCHEDULER_MS: '200',
    SYNC_LEASE_SECONDS: '30',
  };

  beforeAll(async () => {
    web = await startWebServer(renderHonoSite());
    database = await createTestDatabase();
    origins.push(await startHarness({ env, database }));
    if (TEST_DB === 'postgres') origins.push(await startHarness({ env, database }));
  });
  afterAll(async () => {
    for (const origin of origins) await origin.close();
    await database?.drop();
    await web?.close();
  });

  const runs = async () => {
    let total = 0;
    for (const origin of origins) {
      for (const value of (await origin.services.metrics.syncRuns.get()).values)
        total += value.value;
    }
    return total;
  };
  const status = async () => {
    const response = await origins[0]!.request('GET', '/api/v1/sites/docs/sources');
    return (await response.json()).sources[0].status;
  };

  it('syncs a scheduled source without being asked, once, and schedules the next run', async () => {
    await origins[0]!.createSite('docs');
    const created = await origins[0]!.request('POST', '/api/v1/sites/docs/sources', {
      json: { sitemap: `${web.origin}/sitemap.xml`, intervalSeconds: 3600 },
    });
    expect(created.status).toBe(201);
    for (let i = 0; i < 300 && (await status()).lastFinishedAt === null; i++) await sleep(100);
    const first = await status();
    expect(first).toMatchObject({ lastStatus: 'ok', running: false });
    expect(first.lastStats.added).toBeGreaterThan(50);
    // Both schedulers keep ticking: nothing runs again before the interval.
    await sleep(1_500);
    expect(await runs()).toBe(1);
    expect(web.hits.get('/sitemap.xml')).toBe(1);
    const next = new Date(first.nextRunAt).getTime() - new Date(first.lastFinishedAt).getTime();
    expect(Math.round(next / 1000)).toBe(3600);
  });

  it('runs again when the next run comes, still on one origin', async () => {
    await origins[0]!.services.db.pool.query(
      'update web_sources set interval_seconds = 1, next_run_at = now()',
    );
    for (let i = 0; i < 300 && (await runs()) < 3; i++) await sleep(100);
    expect(await runs()).toBeGreaterThanOrEqual(3);
    // A run never overlaps another of the same source: every sitemap read began a run.
    const finished = await runs();
    const sitemapReads = web.hits.get('/sitemap.xml') ?? 0;
    expect(sitemapReads === finished || sitemapReads === finished + 1).toBe(true);
    const latest = await status();
    expect(latest.lastStats).toMatchObject({ added: 0, updated: 0, removed: 0, failed: 0 });
  });
});
