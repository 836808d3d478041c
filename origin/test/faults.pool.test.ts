import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness, TEST_DB, type TestResponse } from './harness.js';

const ACQUIRE_TIMEOUT_MS = 1_500;
/** No client handed out or back for this long: the pool is stuck, new requests are refused. */
const STALL_MS = 500;

/** Sends a request and notes how long its answer took. */
async function timed(promise: Promise<TestResponse>) {
  const started = performance.now();
  const response = await promise;
  return { response, ms: performance.now() - started, body: await response.json() };
}

async function waitForIdle(pool: pg.Pool, timeoutMs: number): Promise<void> {
  const until = performance.now() + timeoutMs;
  while ((pool.waitingCount > 0 || pool.idleCount !== pool.totalCount) && performance.now() < until)
    await new Promise((resolve) => setTimeout(resolve, 25));
}

function expectOverloaded(result: Awaited<ReturnType<typeof timed>>): void {
  expect(result.response.status).toBe(503);
  expect(result.response.headers.get('retry-after')).toMatch(/^\d+$/);
  expect(result.body).toEqual({
    error: { code: 'overloaded', message: expect.any(String), requestId: expect.any(String) },
  });
  expect(JSON.stringify(result.body)).not.toMatch(/at .*\.ts|timeout exceeded/);
}

describe(`a saturated database pool fails fast with 503 (${TEST_DB})`, () => {
  const poolMax = TEST_DB === 'postgres' ? 2 : 1;
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      env: {
        DB_POOL_MAX: String(poolMax),
        DB_ACQUIRE_TIMEOUT_MS: String(ACQUIRE_TIMEOUT_MS),
        DB_STALL_MS: String(STALL_MS),
      },
    });
    await h.createSite('docs');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('under twice the pool size in slow requests: one waits and gets 503 at the acquire timeout, the next (pool stuck) gets 503 at once; the slow ones finish and the pool is idle again', async () => {
    const pool = h.services.db.pool;
    // Something holds every pooled connection for a long time: on PostgreSQL, requests stuck
    // behind a table lock (slow queries); on PGlite, whose pool is one connection, a held client.
    let release: () => Promise<void>;
    let slow: Promise<TestResponse>[] = [];
    if (TEST_DB === 'postgres') {
      const locker = new pg.Client({ connectionString: h.database.url });
      await locker.connect();
      await locker.query('begin');
      await locker.query('lock table sites in access exclusive mode');
      slow = Array.from({ length: poolMax }, () => h.request('GET', '/api/v1/sites'));
      const until = performance.now() + 5_000;
      while (pool.totalCount - pool.idleCount < poolMax && performance.now() < until)
        await new Promise((resolve) => setTimeout(resolve, 20));
      release = async () => {
        await locker.query('rollback');
        await locker.end();
      };
    } else {
      const held = await pool.connect();
      release = async () => held.release();
    }
    expect(pool.totalCount - pool.idleCount).toBe(poolMax);

    try {
      // Within the stall window a request still queues (the pool may be about to turn over)...
      const waiter = timed(h.request('GET', '/api/v1/sites/docs'));
      await new Promise((resolve) => setTimeout(resolve, STALL_MS + 200));
      expect(pool.waitingCount).toBe(1);
      // ...past it, with nothing handed out or back, the pool is stuck and the next is refused.
      const refused = await timed(h.request('GET', '/api/v1/sites/docs'));
      expectOverloaded(refused);
      expect(refused.ms).toBeLessThan(500);

      const waited = await waiter;
      expectOverloaded(waited);
      expect(waited.ms).toBeGreaterThanOrEqual(ACQUIRE_TIMEOUT_MS - 100);
      expect(waited.ms).toBeLessThan(ACQUIRE_TIMEOUT_MS + 3_000);
      // Health is honest about it too. On PostgreSQL the database does not answer in time: 503.
      // PGlite's engine runs on this event loop, so that health runs at all shows it turns; its
      // one connection being held is the pool's state (readers got 503 above), not the engine's,
      // and a long write must not make the embedded origin look down (ingest-stall.test.ts).
      expect((await h.request('GET', '/api/v1/health')).status).toBe(
        TEST_DB === 'postgres' ? 503 : 200,
      );
    } finally {
      await release();
    }
    for (const response of await Promise.all(slow)) expect(response.status).toBe(200);
    await waitForIdle(pool, 5_000);
    expect(pool.waitingCount).toBe(0);
    expect(pool.idleCount).toBe(pool.totalCount);
    const after = await h.request('GET', '/api/v1/sites/docs');
    expect(after.status).toBe(200);
  }, 30_000);

  it('a flood of 20 concurrent requests past the pool gets answers, 200 or 503, and none hangs', async () => {
    const started = performance.now();
    const results = await Promise.all(
      Array.from({ length: 20 }, () => h.request('GET', '/api/v1/sites')),
    );
    expect(performance.now() - started).toBeLessThan(ACQUIRE_TIMEOUT_MS + 10_000);
    for (const response of results) {
      expect([200, 503]).toContain(response.status);
      if (response.status === 503) expect((await response.json()).error.code).toBe('overloaded');
    }
    expect(results.some((response) => response.status === 200)).toBe(true);
    await waitForIdle(h.services.db.pool, 5_000);
    expect(h.services.db.pool.waitingCount).toBe(0);
  }, 30_000);
});
