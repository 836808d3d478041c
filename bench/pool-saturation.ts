/**
 * The database pool under twice its size in slow requests: one origin process (pool of 10) on
 * PostgreSQL, the `sites` table locked from outside so that every `GET /api/v1/sites` holds its
 * pooled connection as a slow query would; 20 such requests, then 10 more "new" requests, then the
 * lock released. Run three times: with the defaults (the pool counts as stuck after 2 s with no
 * client handed out or back), with the fail-fast count limits (`DB_MAX_WAITING` = pool size,
 * `DB_ACQUIRE_TIMEOUT_MS` = 2 s) and with limits so large that they never act, which is how the
 * pool behaved before they existed (an unbounded wait). Reports how long each group took to be
 * answered, with which status, and whether the pool's sessions were all idle afterwards.
 *
 *   eval "$(bash scripts/services.sh env)" && npx tsx bench/pool-saturation.ts
 *
 * Writes bench/results/pool-saturation.json.
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import pg from 'pg';
import { ADMIN_TOKEN, createTestDatabase } from '../origin/test/harness.js';
import { startOrigin } from '../test/origin-process.js';
import { machineInfo } from './lib/machine.js';

const POOL = 10;
const HOLD_MS = 6_000;
/** When the new requests come, after the slow ones. */
const NEW_AFTER_MS = 3_000;
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

interface Answer {
  status: number;
  code: string | null;
  ms: number;
}

function summary(answers: Answer[]) {
  const ms = answers.map((a) => a.ms).sort((a, b) => a - b);
  const statuses: Record<string, { count: number; msMax: number }> = {};
  for (const a of answers) {
    const key = a.code === null ? String(a.status) : `${a.status} ${a.code}`;
    const entry = statuses[key] ?? { count: 0, msMax: 0 };
    statuses[key] = { count: entry.count + 1, msMax: Math.max(entry.msMax, Math.round(a.ms)) };
  }
  return {
    count: answers.length,
    statuses,
    msMin: Math.round(ms[0]!),
    msMedian: Math.round(ms[Math.floor(ms.length / 2)]!),
    msMax: Math.round(ms.at(-1)!),
  };
}

async function get(url: string): Promise<Answer> {
  const started = performance.now();
  const response = await fetch(url, { headers: auth, signal: AbortSignal.timeout(60_000) });
  const body = (await response.json()) as { error?: { code: string } };
  return {
    status: response.status,
    code: body.error?.code ?? null,
    ms: performance.now() - started,
  };
}

async function run(label: string, limits: Record<string, string>) {
  const database = await createTestDatabase('postgres');
  const origin = await startOrigin({
    NODE_ENV: 'test',
    ...database.env,
    ADMIN_TOKEN,
    EMBEDDER: 'hash',
    DB_POOL_MAX: String(POOL),
    ...limits,
  });
  const locker = new pg.Client({ connectionString: database.url });
  try {
    await locker.connect();
    await locker.query('begin');
    await locker.query('lock table sites in access exclusive mode');
    const slow = Array.from({ length: 2 * POOL }, () => get(`${origin.url}/api/v1/sites`));
    // The lock goes HOLD_MS after the slow requests started; the new ones come after the default
    // stall window (2 s), when the pool has had every connection held and none back for that long.
    setTimeout(() => void locker.query('rollback'), HOLD_MS);
    await new Promise((resolve) => setTimeout(resolve, NEW_AFTER_MS));
    const fresh = Array.from({ length: POOL }, () => get(`${origin.url}/api/v1/sites`));
    const slowAnswers = await Promise.all(slow);
    const freshAnswers = await Promise.all(fresh);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const { rows } = await locker.query<{ state: string; n: number }>(
      `select state, count(*)::int as n from pg_stat_activity
        where application_name = 'ragedge-origin' and datname = current_database()
        group by state`,
    );
    const after = await get(`${origin.url}/api/v1/sites`);
    return {
      label,
      limits,
      slowRequests: summary(slowAnswers),
      newRequests: summary(freshAnswers),
      poolSessionsAfter: Object.fromEntries(rows.map((row) => [row.state, row.n])),
      nextRequestAfter: after,
    };
  } finally {
    await locker.end().catch(() => {});
    await origin.stop();
    await database.drop();
  }
}

const runs = [
  // The defaults: no bound is reached by count; the pool is stuck (no turnover for 2 s).
  await run('defaults (stall detection)', {}),
  await run('fail-fast by count', {
    DB_MAX_WAITING: String(POOL),
    DB_ACQUIRE_TIMEOUT_MS: '2000',
    DB_STALL_MS: '0',
  }),
  await run('unbounded wait (limits out of reach)', {
    DB_MAX_WAITING: '100000',
    DB_ACQUIRE_TIMEOUT_MS: '60000',
    DB_STALL_MS: '0',
  }),
];
const result = {
  command: 'eval "$(bash scripts/services.sh env)" && npx tsx bench/pool-saturation.ts',
  date: new Date().toISOString(),
  machine: machineInfo(),
  // Other suites shared this 2-core machine: the load tells how busy it was.
  loadAverage1m: loadavg()[0],
  pool: POOL,
  holdMs: HOLD_MS,
  runs,
};
writeFileSync(
  new URL('results/pool-saturation.json', import.meta.url),
  `${JSON.stringify(result, null, 2)}\n`,
);
console.log(JSON.stringify(result, null, 2));
