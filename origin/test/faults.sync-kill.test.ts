import { once } from 'node:events';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OriginProcess, startOrigin } from '../../test/origin-process.js';
import {
  htmlPage,
  type SitePage,
  setSitemap,
  startWebServer,
  type TestWebServer,
} from '../../test/web-site.js';
import { openDatabase } from '../src/db/database.js';
import { ADMIN_TOKEN, createTestDatabase, TEST_DB, type TestDatabase } from './harness.js';
import { ORIGIN_START_MS } from './private-services.js';

const auth = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
const PAGES = 40;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Page `i` of one edition: every paragraph carries the edition's marker word. */
function page(i: number, marker: string): SitePage {
  const paragraphs = Array.from(
    { length: 12 },
    (_, p) =>
      `<p>Section ${p} of page ${i}, ${marker} edition: the ${marker} pump ${p} runs at pressure ${p * 7} and the ${marker} crew logs it hourly.</p>`,
  ).join('');
  return { body: htmlPage(`Page ${i}`, `<h1>Page ${i}</h1>${paragraphs}`, []), type: 'text/html' };
}

function edition(pages: Map<string, SitePage>, marker: string): void {
  for (let i = 0; i < PAGES; i++) pages.set(`/docs/p${i}`, page(i, marker));
  setSitemap(pages);
}

/** Per document: its chunk count as stored, its real chunks, and chunks of each edition. */
async function inspect(database: TestDatabase) {
  const sql = `select d.url, d.chunk_count as "chunkCount",
      (select count(*)::int from chunks c where c.document_id = d.id) as actual,
      (select count(*)::int from chunks c where c.document_id = d.id and c.content like '%alpha%') as alpha,
      (select count(*)::int from chunks c where c.document_id = d.id and c.content like '%bravo%') as bravo
    from documents d order by d.url`;
  if (database.url !== undefined) {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      return (await client.query(sql)).rows;
    } finally {
      await client.end();
    }
  }
  const db = await openDatabase({
    url: undefined,
    dataDir: database.env.DATA_DIR!,
    poolMax: 1,
    statementTimeoutMs: 30_000,
  });
  try {
    return (await db.pool.query(sql)).rows;
  } finally {
    await db.close();
  }
}

describe(`a sync killed halfway leaves every page old or new (real origin process, ${TEST_DB})`, () => {
  let database: TestDatabase;
  let web: TestWebServer;
  let origin: OriginProcess | undefined;
  const env = () => ({
    NODE_ENV: 'test',
    ...database.env,
    ADMIN_TOKEN,
    EMBEDDER: 'hash',
    RERANKER: 'none',
    CHUNK_MAX_TOKENS: '64',
    CHUNK_OVERLAP_TOKENS: '8',
    CRAWL_ALLOW_HOSTS: '127.0.0.1',
    CRAWL_CONCURRENCY: '2',
    SYNC_SCHEDULER_MS: '0',
    SYNC_LEASE_SECONDS: '3',
  });
  const syncNow = (o: OriginProcess) =>
    fetch(`${o.url}/api/v1/sites/docs/sync`, {
      method: 'POST',
      headers: auth,
      body: '{}',
      signal: AbortSignal.timeout(120_000),
    });

  beforeAll(async () => {
    const pages = new Map<string, SitePage>();
    edition(pages, 'alpha');
    web = await startWebServer(pages);
    database = await createTestDatabase();
    origin = await startOrigin(env(), ORIGIN_START_MS);
    for (const [path, body] of [
      ['/api/v1/sites', { name: 'docs' }],
      ['/api/v1/sites/docs/sources', { sitemap: `${web.origin}/sitemap.xml` }],
    ] as const) {
      const response = await fetch(`${origin.url}${path}`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify(body),
      });
      expect(response.status).toBe(201);
    }
    const first = await syncNow(origin);
    expect(first.status).toBe(200);
    expect(
      ((await first.json()) as { runs: Array<{ stats: { added: number } }> }).runs[0]!.stats.added,
    ).toBe(PAGES);
    await origin.stop();
  }, 300_000);
  afterAll(async () => {
    await origin?.stop('SIGKILL');
    await web?.close();
    await database?.drop();
  });

  it('SIGKILL while pages are being replaced: no page mixes editions, and the next sync finishes the job', async () => {
    edition(web.pages, 'bravo');
    web.delayMs = 100; // slow enough to kill in the middle
    const o = await startOrigin(env(), ORIGIN_START_MS);
    origin = o;
    const exited = once(o.child, 'exit');
    web.reset();
    void syncNow(o).catch(() => 'cut off');
    const pageHits = () => [...web.hits.keys()].filter((path) => path.startsWith('/docs/p')).length;
    for (let i = 0; i < 600 && pageHits() < PAGES / 2; i++) await sleep(50);
    expect(pageHits()).toBeGreaterThanOrEqual(PAGES / 2);
    o.child.kill('SIGKILL');
    await exited;

    const after = await inspect(database);
    expect(after).toHaveLength(PAGES);
    for (const doc of after) {
      expect(doc.actual).toBe(doc.chunkCount);
      // Wholly one edition: every chunk carries the same marker.
      expect([doc.alpha, doc.bravo].sort((a, b) => a - b)).toEqual([0, doc.actual]);
    }
    const replaced = after.filter((doc) => doc.bravo > 0).length;
    expect(replaced).toBeGreaterThan(0);
    expect(replaced).toBeLessThan(PAGES);

    web.delayMs = 0;
    origin = await startOrigin(env(), ORIGIN_START_MS);
    // The killed origin's claim on the source lapses within SYNC_LEASE_SECONDS.
    let resync = await syncNow(origin);
    for (let i = 0; i < 40 && resync.status === 409; i++) {
      await sleep(500);
      resync = await syncNow(origin);
    }
    expect(resync.status).toBe(200);
    const { runs } = (await resync.json()) as {
      runs: Array<{ stats: { updated: number; unchanged: number } }>;
    };
    expect(runs[0]!.stats.updated).toBe(PAGES - replaced);
    await origin.stop();
    const final = await inspect(database);
    expect(final.every((doc) => doc.bravo === doc.actual && doc.alpha === 0)).toBe(true);
  });
});
