import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations } from '../src/db/migrate.js';
import {
  createTestDatabase,
  type Harness,
  startHarness,
  TEST_DB,
  type TestDatabase,
} from './harness.js';
import { type PgBouncerProcess, startPgBouncer } from './pgbouncer-process.js';
import { answerText, readSse } from './sse.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const DOCS = [
  {
    title: 'Backups',
    content:
      '# Backups\n\nBackups run nightly at 02:00 and are kept for 14 days in the vault bucket. To restore a backup, run the restore script with the dump file.',
  },
  {
    title: 'Upgrades',
    content:
      '# Upgrades\n\nUpgrade the origin by pulling the new image and restarting it; migrations apply at boot.',
  },
];

/**
 * The origin through Debian's PgBouncer in transaction mode: a server connection is shared
 * between transactions of different clients, so any session state the code left behind (a
 * plain SET, a session advisory lock, a named prepared statement) would show or break here.
 */
describe.skipIf(TEST_DB !== 'postgres')('through PgBouncer in transaction mode (postgres)', () => {
  let bouncer: PgBouncerProcess;
  let database: TestDatabase;
  let h: Harness;
  let dbName: string;

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    const direct = new URL(database.url!);
    dbName = direct.pathname.slice(1);
    // Two server connections for an origin pool of eight: transactions must share them.
    bouncer = await startPgBouncer({
      host: direct.hostname,
      port: Number(direct.port),
      poolSize: 2,
      statementTimeoutMs: 20_000,
    });
    h = await startHarness({
      database: {
        ...database,
        env: { ...database.env, DATABASE_URL: bouncer.urlOf(dbName) },
      },
      env: {
        DB_POOLER: 'pgbouncer',
        DB_POOL_MAX: '8',
        INGEST_ASYNC_KB: '8',
        JOBS_POLL_MS: '200',
        CHUNK_MAX_TOKENS: '64',
        CHUNK_OVERLAP_TOKENS: '8',
      },
    });
    await h.createSite('docs');
  }, 120_000);
  afterAll(async () => {
    await h?.close();
    await bouncer?.stop();
    await database?.drop();
  });

  it('migrated through it, and every statement reaches PostgreSQL through it', async () => {
    const pools = await bouncer.admin<{ database: string; pool_mode: string }>('show pools');
    expect(pools.find((pool) => pool.database === dbName)?.pool_mode).toBe('transaction');
    const { rows } = await h.services.db.pool.query<{ n: number }>(
      'select count(*)::int as n from schema_migrations',
    );
    expect(rows[0]!.n).toBe(loadMigrations().length);
    // The server-side timeout comes from PgBouncer's connect_query, not a startup parameter.
    const timeout = await h.services.db.pool.query<{ statement_timeout: string }>(
      'show statement_timeout',
    );
    expect(timeout.rows[0]!.statement_timeout).toBe('20s');
  });

  it('ingests (directly and as a queued job), searches, and answers a chat', async () => {
    const direct = await h.request('POST', '/api/v1/sites/docs/documents', {
      json: { documents: DOCS },
    });
    expect(direct.status).toBe(201);
    const big = Array.from(
      { length: 120 },
      (_, i) => `Paragraph ${i}: the compressor ${i} of the turbine hall is serviced every spring.`,
    ).join('\n\n');
    const queued = await h.request('POST', '/api/v1/sites/docs/documents', {
      json: { title: 'Turbine hall', content: big },
    });
    expect(queued.status).toBe(202);
    const location = queued.headers.get('location')!;
    let job = (await (await h.request('GET', location)).json()).job;
    for (let i = 0; i < 300 && (job.status === 'queued' || job.status === 'running'); i++) {
      await sleep(100);
      job = (await (await h.request('GET', location)).json()).job;
    }
    expect(job).toMatchObject({ status: 'succeeded', attempts: 1 });

    const search = await h.request('POST', '/api/v1/sites/docs/search', {
      json: { query: 'compressor turbine hall serviced', k: 60 },
    });
    expect(search.status).toBe(200);
    expect((await search.json()).results[0].title).toBe('Turbine hall');

    const chat = await h.request('POST', '/api/v1/sites/docs/chat', {
      json: { message: 'How long are backups kept?' },
    });
    expect(chat.status).toBe(200);
    const items = await readSse(chat.body!);
    expect(items.some((item) => item.event === 'done')).toBe(true);
    expect(answerText(items)).toMatch(/14 days/);

    const reindex = await h.request('POST', '/api/v1/sites/docs/reindex');
    expect(reindex.status).toBe(200);
  });

  it('keeps index settings inside their transaction: no server connection is left with a raised ef_search', async () => {
    // Many searches at once over two server connections, each raising hnsw.ef_search for itself.
    const answers = await Promise.all(
      Array.from({ length: 12 }, () =>
        h.request('POST', '/api/v1/sites/docs/search', {
          json: { query: 'backup restore dump', k: 60, mode: 'vector' },
        }),
      ),
    );
    expect(answers.map((answer) => answer.status)).toEqual(Array(12).fill(200));
    // Whichever server connection a statement lands on, the setting is back to its default.
    const seen = new Set<string | null>();
    for (let i = 0; i < 8; i++) {
      const { rows } = await h.services.db.pool.query<{ ef: string | null }>(
        "select current_setting('hnsw.ef_search', true) as ef",
      );
      seen.add(rows[0]!.ef);
    }
    for (const ef of seen) expect([null, '', '40']).toContain(ef);
    const stats = await bouncer.admin<{ database: string; total_xact_count: string }>('show stats');
    const ours = stats.find((row) => row.database === dbName);
    expect(Number(ours?.total_xact_count)).toBeGreaterThan(50);
  });
});
