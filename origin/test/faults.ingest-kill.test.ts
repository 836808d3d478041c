import { once } from 'node:events';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OriginProcess, startOrigin } from '../../test/origin-process.js';
import { openDatabase } from '../src/db/database.js';
import { ADMIN_TOKEN, createTestDatabase, TEST_DB, type TestDatabase } from './harness.js';
import { ORIGIN_START_MS } from './private-services.js';

const auth = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
const URL_OF_DOC = 'https://docs.test/manual';
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The part of an upload's answer these tests read. */
interface UploadAnswer {
  results: Array<{ outcome: string; document: { chunkCount: number } }>;
}

/** A version of the manual: every paragraph carries the version's marker word. */
function manual(marker: string, paragraphs: number): string {
  return Array.from(
    { length: paragraphs },
    (_, p) =>
      `Paragraph ${p} of the ${marker} edition: valve ${p} is checked weekly and its pressure ${p * 3} is logged by the ${marker} crew before the pumps start again.`,
  ).join('\n\n');
}

const OLD = { marker: 'alpha', content: manual('alpha', 40) };
const NEW = { marker: 'bravo', content: manual('bravo', 2_000) };

interface DocState {
  chunkCount: number;
  actual: number;
  alpha: number;
  bravo: number;
}

/** The replaced document's state and the whole database's consistency, read with SQL. */
async function inspect(database: TestDatabase) {
  const sql = {
    doc: `select d.chunk_count as "chunkCount",
                 (select count(*)::int from chunks c where c.document_id = d.id) as actual,
                 (select count(*)::int from chunks c where c.document_id = d.id and c.content like '%alpha%') as alpha,
                 (select count(*)::int from chunks c where c.document_id = d.id and c.content like '%bravo%') as bravo
            from documents d where d.url = '${URL_OF_DOC}'`,
    orphans: `select count(*)::int as n from chunks c
                where not exists (select 1 from documents d where d.id = c.document_id)`,
    mismatched: `select count(*)::int as n from documents d
                   where d.chunk_count <> (select count(*) from chunks c where c.document_id = d.id)`,
  };
  const run = async (query: (text: string) => Promise<{ rows: unknown[] }>) => ({
    docs: (await query(sql.doc)).rows as DocState[],
    orphans: ((await query(sql.orphans)).rows[0] as { n: number }).n,
    mismatched: ((await query(sql.mismatched)).rows[0] as { n: number }).n,
  });
  if (database.url !== undefined) {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      return await run((text) => client.query(text));
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
    return await run((text) => db.pool.query(text));
  } finally {
    await db.close();
  }
}

describe(`ingestion killed midway: the document is wholly old or wholly new, no orphan chunks (real origin process, ${TEST_DB})`, () => {
  let database: TestDatabase;
  let origin: OriginProcess | undefined;
  const env = () => ({
    NODE_ENV: 'test',
    ...database.env,
    ADMIN_TOKEN,
    EMBEDDER: 'hash',
    RERANKER: 'none',
    CHUNK_MAX_TOKENS: '64',
    CHUNK_OVERLAP_TOKENS: '8',
  });
  const upload = (o: OriginProcess, title: string, url: string, content: string) =>
    fetch(`${o.url}/api/v1/sites/docs/documents`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ documents: [{ title, url, content }] }),
      signal: AbortSignal.timeout(120_000),
    });
  let oldChunks = 0;
  let newChunks = 0;
  let ingestMs = 0;

  beforeAll(async () => {
    database = await createTestDatabase();
    origin = await startOrigin(env(), ORIGIN_START_MS);
    const site = await fetch(`${origin.url}/api/v1/sites`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ name: 'docs' }),
    });
    expect(site.status).toBe(201);
    const first = await upload(origin, 'Manual', URL_OF_DOC, OLD.content);
    expect(first.status).toBe(201);
    oldChunks = ((await first.json()) as UploadAnswer).results[0]!.document.chunkCount;
    // The new version under another address first: how many chunks it makes and how long it takes.
    const started = performance.now();
    const calibration = await upload(
      origin,
      'Manual',
      'https://docs.test/calibration',
      NEW.content,
    );
    expect(calibration.status).toBe(201);
    ingestMs = performance.now() - started;
    newChunks = ((await calibration.json()) as UploadAnswer).results[0]!.document.chunkCount;
    expect(newChunks).toBeGreaterThan(oldChunks * 10);
    await origin.stop();
  }, 300_000);
  afterAll(async () => {
    await origin?.stop('SIGKILL');
    await database?.drop();
  });

  /** Starts the origin, sends the new version, and SIGKILLs the process when `killWhen` resolves. */
  async function killDuringUpload(killWhen: (o: OriginProcess) => Promise<void>) {
    const o = await startOrigin(env(), ORIGIN_START_MS);
    origin = o;
    const exited = once(o.child, 'exit');
    const sent = upload(o, 'Manual', URL_OF_DOC, NEW.content).then(
      (response) => `answered ${response.status}`,
      () => 'cut off',
    );
    await killWhen(o);
    o.child.kill('SIGKILL');
    await exited;
    return sent;
  }

  /** After a restart the origin serves, and the document is one whole version. */
  async function expectWholeVersion(): Promise<'old' | 'new'> {
    const o = await startOrigin(env(), ORIGIN_START_MS);
    origin = o;
    expect((await fetch(`${o.url}/api/v1/health`)).status).toBe(200);
    expect(await o.stop()).toBe(0);
    const state = await inspect(database);
    expect(state.orphans).toBe(0);
    expect(state.mismatched).toBe(0);
    expect(state.docs).toHaveLength(1);
    const doc = state.docs[0]!;
    if (doc.alpha > 0) {
      expect(doc).toEqual({ chunkCount: oldChunks, actual: oldChunks, alpha: oldChunks, bravo: 0 });
      return 'old';
    }
    expect(doc).toEqual({ chunkCount: newChunks, actual: newChunks, alpha: 0, bravo: newChunks });
    return 'new';
  }

  if (TEST_DB === 'postgres') {
    it('SIGKILL while the replacing transaction is open leaves the whole old version', async () => {
      const watcher = new pg.Client({ connectionString: database.url });
      await watcher.connect();
      try {
        const outcome = await killDuringUpload(async () => {
          // The origin's session holds a transaction id once it has written its first row.
          const until = performance.now() + 60_000;
          while (performance.now() < until) {
            const { rows } = await watcher.query<{ n: number }>(
              `select count(*)::int as n from pg_stat_activity
                where application_name = 'ragedge-origin' and datname = current_database()
                  and backend_xid is not null`,
            );
            if (rows[0]!.n > 0) return;
          }
          throw new Error('the replacing transaction was never seen open');
        });
        expect(outcome).toBe('cut off');
      } finally {
        await watcher.end();
      }
      expect(await expectWholeVersion()).toBe('old');
    }, 300_000);
  }

  it('SIGKILL at several points of the upload never leaves a mix', async () => {
    const seen: string[] = [];
    for (const fraction of [0.4, 0.8]) {
      await killDuringUpload(() => sleep(ingestMs * fraction));
      seen.push(await expectWholeVersion());
    }
    expect(seen.every((version) => version === 'old' || version === 'new')).toBe(true);
  }, 600_000);

  it('the same upload, not interrupted, replaces the document wholly', async () => {
    const o = await startOrigin(env(), ORIGIN_START_MS);
    origin = o;
    // Another title makes it a change whichever version the kills left.
    const response = await upload(o, 'Manual, second printing', URL_OF_DOC, NEW.content);
    expect(response.status).toBe(200);
    expect(((await response.json()) as UploadAnswer).results[0]!.outcome).toBe('updated');
    expect(await o.stop()).toBe(0);
    const state = await inspect(database);
    expect(state.orphans).toBe(0);
    expect(state.mismatched).toBe(0);
    expect(state.docs).toEqual([
      { chunkCount: newChunks, actual: newChunks, alpha: 0, bravo: newChunks },
    ]);
  }, 300_000);
});
