import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OriginProcess, startOrigin } from '../../test/origin-process.js';
import { FailFastPool } from '../src/db/fail-fast-pool.js';
import { startLoad } from './fault-load.js';
import { ADMIN_TOKEN, TEST_DB } from './harness.js';
import { ORIGIN_START_MS, type PrivateServer, startPrivatePostgres } from './private-services.js';

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// The embedded PGlite lives inside the origin process: it cannot be stopped and restarted apart
// from it, so this fault exists only with a PostgreSQL server.
describe.skipIf(TEST_DB !== 'postgres')(
  'PostgreSQL restarted while requests run (a real origin process on a private PostgreSQL; skipped on PGlite: the embedded database cannot restart apart from the process)',
  () => {
    let postgres: PrivateServer | undefined;
    let origin: OriginProcess | undefined;
    let dataDir: string;
    beforeAll(async () => {
      postgres = await startPrivatePostgres();
      dataDir = mkdtempSync(join(tmpdir(), 'ragedge-faults-pg-'));
      origin = await startOrigin(
        {
          NODE_ENV: 'test',
          DATABASE_URL: postgres.url,
          DATA_DIR: dataDir,
          ADMIN_TOKEN,
          EMBEDDER: 'hash',
          RERANKER: 'none',
          DB_ACQUIRE_TIMEOUT_MS: '2000',
        },
        ORIGIN_START_MS,
      );
      const site = await fetch(`${origin.url}/api/v1/sites`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'docs' }),
      });
      expect(site.status).toBe(201);
      const docs = await fetch(`${origin.url}/api/v1/sites/docs/documents`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({
          documents: [{ title: 'Backups', content: '# Backups\n\nThe nightly job runs pg_dump.' }],
        }),
      });
      expect(docs.status).toBe(201);
    }, 120_000);
    afterAll(async () => {
      await origin?.stop('SIGKILL');
      await postgres?.destroy();
      if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
    });

    it('requests during the outage fail cleanly with 503, health says 503, and the origin recovers by itself within 10 s', async () => {
      try {
        await outageAndRecovery();
      } catch (error) {
        // The origin's own account of what happened, for whoever reads the CI log.
        process.stderr.write(
          `origin log (last 40 lines):\n${origin!.logs.slice(-40).join('\n')}\n`,
        );
        throw error;
      }
    }, 90_000);

    it('a client checked out for a transaction survives the server going away: the process lives, the client is dropped, the pool reconnects', async () => {
      const pool = new FailFastPool(
        { connectionString: postgres!.url, max: 2 },
        { acquireTimeoutMs: 2_000, maxWaiting: 2 },
      );
      pool.on('error', () => {});
      const crashes: unknown[] = [];
      const onUncaught = (error: unknown) => crashes.push(error);
      process.on('uncaughtException', onUncaught);
      try {
        const client = await pool.connect();
        await client.query('begin');
        await postgres!.stop();
        const failed = await client.query('select 1').catch((error: unknown) => error);
        expect(failed).toBeInstanceOf(Error);
        client.release();
        await sleep(200);
        expect(crashes).toEqual([]);
        expect(pool.totalCount).toBe(0);
        await postgres!.start();
        expect((await pool.query<{ n: number }>('select 1 as n')).rows).toEqual([{ n: 1 }]);
      } finally {
        process.off('uncaughtException', onUncaught);
        if (!postgres!.running) await postgres!.start();
        await pool.end();
      }
    }, 60_000);

    async function outageAndRecovery() {
      const url = origin!.url;
      const load = startLoad(
        url,
        [
          { path: '/api/v1/sites' },
          {
            path: '/api/v1/sites/docs/search',
            init: {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ query: 'nightly backup' }),
            },
          },
          { path: '/api/v1/health' },
        ],
        { everyMs: 50, headers: auth },
      );
      // A few answers served before the fault, however slow the machine is today (bounded).
      const warm = performance.now();
      while (load.outcomes.length < 8 && performance.now() - warm < 20_000) await sleep(50);
      const stoppedAt = performance.now();
      await postgres!.stop();
      await sleep(2_000);
      const health = await fetch(`${url}/api/v1/health`, {
        headers: auth,
        signal: AbortSignal.timeout(10_000),
      });
      expect(health.status).toBe(503);
      expect(await health.json()).toMatchObject({
        status: 'unavailable',
        database: { status: 'down' },
      });
      await sleep(1_000);
      await postgres!.start();
      const upAt = performance.now();
      let recoveredAt = Number.NaN;
      while (performance.now() - upAt < 15_000) {
        const probe = await fetch(`${url}/api/v1/health`, { signal: AbortSignal.timeout(5_000) });
        if (probe.status === 200) {
          recoveredAt = performance.now();
          break;
        }
        await sleep(100);
      }
      const settled = performance.now();
      while (
        load.outcomes.filter((o) => o.sentAt > recoveredAt).length < 8 &&
        performance.now() - settled < 20_000
      )
        await sleep(50);
      const outcomes = await load.stop();

      // For the CI log: how the outage looked from outside.
      console.info(
        `postgres restart: recovered ${Math.round(recoveredAt - upAt)} ms after the server was back; ${outcomes.length} requests, ${outcomes.filter((o) => o.status === 503).length} answered 503, slowest ${Math.round(Math.max(...outcomes.map((o) => o.ms)))} ms`,
      );
      expect(recoveredAt - upAt).toBeLessThan(10_000);
      // Every request got an HTTP answer in bounded time: no hang, no dropped connection.
      expect(outcomes.filter((o) => o.status === 0)).toEqual([]);
      expect(Math.max(...outcomes.map((o) => o.ms))).toBeLessThan(10_000);
      expect(outcomes.filter((o) => o.status !== 200 && o.status !== 503)).toEqual([]);
      const refused = outcomes.filter((o) => o.status === 503);
      expect(refused.length).toBeGreaterThan(5);
      for (const o of refused) {
        if (o.path === '/api/v1/health') {
          expect(o.body).toMatchObject({ status: 'unavailable', database: { status: 'down' } });
          continue;
        }
        expect(o.body).toEqual({
          error: {
            code: expect.stringMatching(/^(database_unavailable|overloaded)$/),
            message: expect.any(String),
            requestId: expect.any(String),
          },
        });
        expect(o.retryAfter).toMatch(/^\d+$/);
        expect(JSON.stringify(o.body)).not.toMatch(/ECONNREFUSED|\.ts:|57P01|terminat/i);
      }
      // Before the stop and after the recovery everything was served.
      const before = outcomes.filter((o) => o.sentAt + o.ms < stoppedAt);
      const after = outcomes.filter((o) => o.sentAt > recoveredAt);
      expect(before.length).toBeGreaterThan(5);
      expect(after.length).toBeGreaterThan(5);
      expect(before.every((o) => o.status === 200)).toBe(true);
      expect(after.every((o) => o.status === 200)).toBe(true);
      // Same process all along, and nothing reached the generic 500 path.
      expect(origin!.child.exitCode).toBeNull();
      expect(origin!.logs.filter((line) => line.includes('unhandled error'))).toEqual([]);
    }
  },
);
