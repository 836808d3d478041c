import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/database.js';
import { loadMigrations, migrate } from '../src/db/migrate.js';
import {
  createTestDatabase,
  type Harness,
  startHarness,
  TEST_DB,
  type TestDatabase,
} from './harness.js';

describe(`migrations (${TEST_DB})`, () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('apply once when several migrators start at the same moment', async () => {
    const options = {
      url: database.env.DATABASE_URL,
      dataDir: database.env.DATA_DIR!,
      poolMax: 4,
      statementTimeoutMs: 30_000,
    };
    // PGlite is one process's database: concurrency there is several migrators on one pool.
    const dbs =
      TEST_DB === 'postgres'
        ? await Promise.all([1, 2, 3, 4].map(() => openDatabase(options)))
        : [await openDatabase(options)];
    try {
      const runs = await Promise.all([0, 1, 2, 3].map((i) => migrate(dbs[i % dbs.length]!.pool)));
      const all = loadMigrations().map((m) => m.version);
      // Numerically: once there is a migration 010, a string sort would put it before 002.
      expect(runs.flat().sort((a, b) => a - b)).toEqual(all);
      const { rows } = await dbs[0]!.pool.query(
        'select version from schema_migrations order by version',
      );
      expect(rows.map((row) => row.version)).toEqual(all);
      expect(await migrate(dbs[0]!.pool)).toEqual([]);
    } finally {
      await Promise.all(dbs.map((db) => db.close()));
    }
  });

  it('roll back a failing migration whole and name it', async () => {
    const db = await openDatabase({
      url: database.env.DATABASE_URL,
      dataDir: database.env.DATA_DIR!,
      poolMax: 2,
      statementTimeoutMs: 30_000,
    });
    try {
      const broken = [
        ...loadMigrations(),
        {
          version: 999,
          name: 'broken',
          sql: 'create table half_done (id int); select * from no_such_table;',
        },
      ];
      await expect(migrate(db.pool, broken)).rejects.toThrow(/999_broken failed/);
      const { rows } = await db.pool.query(
        "select to_regclass('half_done') as t, (select count(*) from schema_migrations where version = 999) as n",
      );
      expect(rows[0]).toEqual({ t: null, n: 0 });
    } finally {
      await db.close();
    }
  });
});

describe(`atomic document replacement (${TEST_DB})`, () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { CHUNK_MAX_TOKENS: '32', CHUNK_OVERLAP_TOKENS: '0' } });
    await h.createSite('docs');
  });
  afterAll(async () => {
    await h?.close();
  });

  const version = (tag: string) =>
    Array.from(
      { length: 12 },
      (_, i) => `## Part ${i}\n\nVersion ${tag} of part ${i} with enough words to fill a chunk.`,
    ).join('\n\n');

  it('never shows a reader a mix of the old and the new chunks', async () => {
    const send = (tag: string) =>
      h.request('POST', '/api/v1/sites/docs/documents', {
        json: { title: 'Doc', content: version(tag), url: 'https://x.test/doc' },
      });
    expect((await send('A')).status).toBe(201);
    const seen = new Set<string>();
    let writing = true;
    const reader = (async () => {
      for (let i = 0; i < 400 && writing; i += 1) {
        const { rows } = await h.services.db.pool.query<{ content: string }>(
          'select content from chunks',
        );
        const tags = new Set(rows.map((row) => /Version (\w+)/.exec(row.content)?.[1]));
        seen.add([...tags].sort().join(','));
      }
    })();
    for (const tag of ['B', 'C', 'D', 'E']) expect((await send(tag)).status).toBe(200);
    writing = false;
    await reader;
    for (const state of seen) expect(state).toMatch(/^[A-E]$/);
    expect(await h.counts()).toEqual({ documents: 1, chunks: 12 });
  });
});
