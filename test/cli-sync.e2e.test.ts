import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  createTestDatabase,
  TEST_DB,
  type TestDatabase,
} from '../origin/test/harness.js';
import { type OriginProcess, run, startOrigin } from './origin-process.js';
import { renderHonoSite, setSitemap, startWebServer, type TestWebServer } from './web-site.js';

describe(`a site owner feeds the origin a website with the CLI (${TEST_DB})`, () => {
  let database: TestDatabase;
  let origin: OriginProcess;
  let web: TestWebServer;
  let env: Record<string, string>;
  let pages: number;
  const rag = (...args: string[]) =>
    run('origin/tools/cli/main.ts', args, { ...env, PORT: new URL(origin.url).port });

  beforeAll(async () => {
    const site = renderHonoSite();
    pages = [...site.values()].filter((page) => page.type.startsWith('text/html')).length;
    web = await startWebServer(site);
    database = await createTestDatabase();
    env = {
      EMBEDDER: 'hash',
      ADMIN_TOKEN,
      CRAWL_ALLOW_HOSTS: '127.0.0.1',
      SYNC_SCHEDULER_MS: '0',
      ...database.env,
    };
    origin = await startOrigin(env);
    const created = await rag('sites', 'create', 'hono');
    expect(created.code).toBe(0);
  });
  afterAll(async () => {
    await origin?.stop();
    await web?.close();
    await database?.drop();
  });

  it('adds a sitemap source and syncs it: every page stored under its URL', async () => {
    const added = await rag(
      'sources',
      'add',
      'hono',
      '--sitemap',
      `${web.origin}/sitemap.xml`,
      '--every',
      '6h',
    );
    expect(added.stderr).toBe('');
    expect(added.stdout).toMatch(
      /^added source (\d+) \(sitemap http:\/\/127\.0\.0\.1:\d+\/sitemap\.xml\) to hono/,
    );
    const synced = await rag('sync', 'hono');
    expect(synced.code).toBe(0);
    expect(synced.stdout).toContain(
      `${pages} seen, ${pages} added, 0 updated, 0 unchanged, 0 removed, 0 failed`,
    );
    const listed = await rag('sources', 'list', 'hono');
    expect(listed.stdout).toContain('every 21600 s');
    expect(listed.stdout).toMatch(/last run: \S+ ok/);
    expect(listed.stdout).toMatch(/next run: \d{4}-/);
  });

  it('re-syncs unchanged in a few seconds, and a dry run reports a deletion without making it', async () => {
    const again = await rag('sync', 'hono');
    expect(again.stdout).toContain(`${pages} unchanged, 0 removed`);
    const seconds = Number(/in ([\d.]+) s/.exec(again.stdout)?.[1]);
    expect(seconds).toBeLessThan(10);
    web.pages.delete('/docs/helpers/cookie');
    setSitemap(web.pages);
    const dry = await rag('sync', 'hono', '--dry-run', '--source', '1');
    expect(dry.stdout).toMatch(/^dry run of source 1: .* 1 removed/m);
    const real = await rag('sync', 'hono');
    expect(real.stdout).toContain('1 removed, 0 failed');
  });

  it('removes the source and its documents', async () => {
    const removed = await rag('sources', 'remove', 'hono', '1');
    expect(removed.stdout).toContain(`removed source 1 and its ${pages - 1} documents from hono`);
    const listed = await rag('sources', 'list', 'hono');
    expect(listed.stdout).toContain('hono has no web sources');
  });
});
