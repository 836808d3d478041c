import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OriginProcess, startOrigin } from '../../test/origin-process.js';
import { formWith } from './fixtures.js';
import { ADMIN_TOKEN, createTestDatabase, TEST_DB, type TestDatabase } from './harness.js';

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

/**
 * Hostile documents against a real origin process: each is answered (stored, or refused with a
 * clear 4xx) within a bound, and the event loop stays free meanwhile: health, polled all along,
 * answers in under 100 ms every time.
 */
describe(`documents that would stall the process (${TEST_DB})`, () => {
  let database: TestDatabase;
  let origin: OriginProcess;
  /**
   * Health's worst time over 60 polls of an idle origin. On a quiet machine it is a few ms and
   * the bound is 100 ms; on a loaded one (measured here: load average 20 on 2 cores, idle worst
   * 50-130 ms) the bound is three times what health takes there with nothing to do. Before the parse thread, each of these
   * documents held the event loop for 5 to 47 s.
   */
  let healthBoundMs = 100;
  beforeAll(async () => {
    database = await createTestDatabase();
    origin = await startOrigin({
      ...database.env,
      ADMIN_TOKEN,
      EMBEDDER: 'hash',
      RERANKER: 'lexical',
      PARSE_TIMEOUT_MS: '60000',
      PARSE_MAX_TEXT_CHARS: '1000000',
    });
    const site = await fetch(`${origin.url}/api/v1/sites`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'docs' }),
    });
    expect(site.status).toBe(201);
    // The parse thread starts with the first document: measured here, not in the cases below.
    const warm = await fetch(`${origin.url}/api/v1/sites/docs/documents`, {
      method: 'POST',
      headers: auth,
      body: formWith([{ name: 'warm.md', content: '# Warm\n\nFirst document.\n' }]),
    });
    expect(warm.status).toBe(201);
    let idleWorst = 0;
    for (let i = 0; i < 60; i++) {
      const started = performance.now();
      await (await fetch(`${origin.url}/api/v1/health`)).arrayBuffer();
      idleWorst = Math.max(idleWorst, performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    healthBoundMs = Math.max(100, 3 * idleWorst);
  }, 90_000);
  /** What the 900 kB case measured, written to `bench/results` when `RAGEDGE_WRITE_BENCH=1`. */
  let figures: Record<string, unknown> | null = null;
  afterAll(async () => {
    await origin?.stop();
    await database?.drop();
    if (process.env.RAGEDGE_WRITE_BENCH === '1' && figures !== null) {
      writeFileSync(
        new URL(`../../bench/results/ingest-stall-${TEST_DB}.json`, import.meta.url),
        `${JSON.stringify(
          {
            benchmark: 'ingest-stall',
            command: `RAGEDGE_WRITE_BENCH=1 TEST_DB=${TEST_DB} npx vitest run --project integration origin/test/ingest-stall.test.ts`,
            database: TEST_DB,
            measuredAt: new Date().toISOString(),
            ...figures,
          },
          null,
          2,
        )}\n`,
      );
    }
  });

  /** Uploads `name` while polling health; the upload's status and time, health's worst time. */
  async function uploadWhilePolling(name: string, content: string) {
    let worstHealthMs = 0;
    let polls = 0;
    let uploading = true;
    const poller = (async () => {
      while (uploading) {
        const started = performance.now();
        const health = await fetch(`${origin.url}/api/v1/health`);
        await health.arrayBuffer();
        expect(health.status).toBe(200);
        worstHealthMs = Math.max(worstHealthMs, performance.now() - started);
        polls += 1;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    })();
    const started = performance.now();
    const response = await fetch(`${origin.url}/api/v1/sites/docs/documents`, {
      method: 'POST',
      headers: auth,
      body: formWith([{ name, content }]),
    });
    const body = (await response.json()) as { error?: { code: string; message: string } };
    const uploadMs = performance.now() - started;
    uploading = false;
    await poller;
    return { status: response.status, body, uploadMs, worstHealthMs, polls };
  }

  it('answers a 200,000-character Markdown heading within seconds while health answers at once', async () => {
    const result = await uploadWhilePolling('heading.md', `# a${' '.repeat(200_000)}x\n\ntext\n`);
    expect(result.status).toBe(201);
    expect(result.uploadMs).toBeLessThan(5_000);
    expect(result.polls).toBeGreaterThan(0);
    expect(result.worstHealthMs).toBeLessThan(healthBoundMs);
  });

  it('refuses a megabyte of nested HTML with a clear 422 within seconds while health answers at once', async () => {
    const result = await uploadWhilePolling('nested.html', `${'<div>'.repeat(199_000)}x`);
    expect(result.status).toBe(422);
    expect(result.body.error?.message).toMatch(
      /nested\.html nests HTML elements more than 512 deep/,
    );
    expect(result.uploadMs).toBeLessThan(5_000);
    expect(result.worstHealthMs).toBeLessThan(healthBoundMs);
  });

  /**
   * The event loop's longest delay since the last scrape, from the origin's own
   * `monitorEventLoopDelay` (prom-client resets it at each scrape): what a reader would wait.
   */
  async function eventLoopLagMaxMs(): Promise<number> {
    const text = await (await fetch(`${origin.url}/metrics`, { headers: auth })).text();
    const value = /^nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(text)?.[1];
    expect(value).toBeDefined();
    return Number(value) * 1000;
  }

  it('stores a 900 kB document (704 chunks) while the event loop stays free and health answers', async () => {
    await eventLoopLagMaxMs(); // starts the window
    const result = await uploadWhilePolling('line.txt', 'word '.repeat(180_000));
    const lagMs = await eventLoopLagMaxMs();
    expect(result.status).toBe(201);
    expect(result.polls).toBeGreaterThan(3);
    // Parse and chunking run in the parse thread; the chunks are written a few rows per statement
    // with a turn of the event loop between statements (PGlite runs each statement on it), and
    // health does not wait for the write's connection. Before: the event loop was held 0.2-0.6 s
    // on PostgreSQL and 2.4 s on PGlite (health 0.5 s and 2.4 s) under load average 20; after,
    // at the same load, 55 ms and 235 ms (health 128 ms and 212 ms). The bound is three times
    // the loaded-machine health bound, at least 300 ms (at load 28, health's worst reached 279 ms
    // on PGlite): a quiet machine is far under it, and PGlite's old 2.4 s far over.
    const boundMs = Math.max(300, 3 * healthBoundMs);
    figures = {
      document: { bytes: 900_000, chunks: 704 },
      storeMs: Math.round(result.uploadMs),
      eventLoopLagMaxMs: Math.round(lagMs),
      healthWorstMs: Math.round(result.worstHealthMs),
      healthPolls: result.polls,
      idleHealthBoundMs: Math.round(healthBoundMs),
      assertedBoundMs: Math.round(boundMs),
    };
    expect(lagMs).toBeLessThan(boundMs);
    expect(result.worstHealthMs).toBeLessThan(boundMs);
  });

  it('refuses text past PARSE_MAX_TEXT_CHARS with a clear 422, and parses the next document', async () => {
    const big = await uploadWhilePolling('big.txt', 'x'.repeat(1_000_001));
    expect(big.status).toBe(422);
    expect(big.body.error?.message).toMatch(/big\.txt holds more than 1,000,000 characters/);
    expect(big.worstHealthMs).toBeLessThan(Math.max(300, 3 * healthBoundMs));
    const after = await uploadWhilePolling('ok.md', '# Fine\n\nA normal document.\n');
    expect(after.status).toBe(201);
  });
});
