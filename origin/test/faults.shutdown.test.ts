import { once } from 'node:events';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OriginProcess, startOrigin } from '../../test/origin-process.js';
import { openDatabase } from '../src/db/database.js';
import { ADMIN_TOKEN, createTestDatabase, TEST_DB, type TestDatabase } from './harness.js';
import { type LlmStub, startLlmStub } from './llm-stub.js';
import { ORIGIN_START_MS } from './private-services.js';
import { answerText, readSse } from './sse.js';

const GRACE_MS = 8_000;
const auth = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };

/** About 300 kB of distinct prose in 10 documents (250 chunks): still in flight at SIGTERM. */
function bigBatch() {
  return Array.from({ length: 10 }, (_, d) => ({
    title: `Manual part ${d}`,
    content: Array.from(
      { length: 200 },
      (_, p) =>
        `Section ${d}.${p}: the maintenance procedure number ${p} of part ${d} checks valve ${p * 7 + d} and records pressure reading ${p * 13 + d} in the log book.`,
    ).join('\n\n'),
  }));
}

describe(`graceful shutdown on SIGTERM (a real origin process, ${TEST_DB})`, () => {
  let database: TestDatabase;
  let stub: LlmStub;
  let origin: OriginProcess | undefined;
  beforeAll(async () => {
    database = await createTestDatabase();
    stub = await startLlmStub();
    origin = await startOrigin(
      {
        NODE_ENV: 'test',
        ...database.env,
        ADMIN_TOKEN,
        EMBEDDER: 'hash',
        RERANKER: 'none',
        LLM_BASE_URL: stub.url,
        LLM_API_KEY: 'sk-test',
        // A slow model: a second before every token, so the answer is mid-stream at SIGTERM.
        LLM_MODEL: 'slow-1000',
        SHUTDOWN_GRACE_MS: String(GRACE_MS),
      },
      ORIGIN_START_MS,
    );
    await fetch(`${origin.url}/api/v1/sites`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ name: 'docs' }),
    });
    const docs = await fetch(`${origin.url}/api/v1/sites/docs/documents`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({
        documents: [{ title: 'Paris', content: '# Paris\n\nParis is the capital of France.' }],
      }),
    });
    expect(docs.status).toBe(201);
  }, 240_000);
  afterAll(async () => {
    await origin?.stop('SIGKILL');
    await stub?.close();
    await database?.drop();
  });

  it('tells the open stream to reconnect, completes the in-flight upload, stores the partial answer and exits 0 within the grace period', async () => {
    const child = origin!.child;
    const chat = await fetch(`${origin!.url}/api/v1/sites/docs/chat`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ message: 'What is the capital of France?' }),
    });
    expect(chat.status).toBe(200);
    let firstToken = () => {};
    const tokenSeen = new Promise<void>((resolve) => {
      firstToken = resolve;
    });
    const allItems = readSse(chat.body!, {
      timeoutMs: 30_000,
      stop: (item) => {
        if (item.event === 'token') firstToken();
        return false;
      },
    });
    await tokenSeen;

    let uploadAnswered = false;
    const upload = fetch(`${origin!.url}/api/v1/sites/docs/documents`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ documents: bigBatch() }),
    }).then(async (response) => {
      uploadAnswered = true;
      return { status: response.status, body: (await response.json()) as { results: unknown[] } };
    });
    await new Promise((resolve) => setTimeout(resolve, 150));
    const exited = once(child, 'exit');
    const signalledAt = performance.now();
    expect(uploadAnswered).toBe(false);
    child.kill('SIGTERM');

    const items = await allItems;
    const last = items.at(-1)!;
    expect(last.event).toBe('error');
    expect(last.data).toMatchObject({
      code: 'shutting_down',
      retryable: true,
      retryAfterMs: expect.any(Number),
    });
    expect(last.retry).toBe((last.data as { retryAfterMs: number }).retryAfterMs);
    const said = answerText(items);
    expect(said.length).toBeGreaterThan(0);

    const uploaded = await upload;
    expect(uploaded.status).toBe(201);
    expect(uploaded.body.results).toHaveLength(10);

    const [code] = await exited;
    const took = performance.now() - signalledAt;
    console.info(`graceful shutdown: exit ${code} ${Math.round(took)} ms after SIGTERM`);
    expect(code).toBe(0);
    expect(took).toBeLessThan(GRACE_MS);
    expect(origin!.logs.some((line) => line.includes('"shut down"'))).toBe(true);

    // After the process is gone: the upload is whole, and the interrupted answer was kept.
    const db =
      TEST_DB === 'postgres'
        ? { pool: new pg.Pool({ connectionString: database.url }), close: () => Promise.resolve() }
        : await openDatabase({
            url: undefined,
            dataDir: database.env.DATA_DIR!,
            poolMax: 1,
            statementTimeoutMs: 10_000,
          });
    try {
      const { rows: docs } = await db.pool.query<{ n: number; chunks: number; expected: number }>(
        `select count(*)::int as n,
                (select count(*)::int from chunks) as chunks,
                (select sum(chunk_count)::int from documents) as expected
           from documents`,
      );
      expect(docs[0]!.n).toBe(11);
      expect(docs[0]!.chunks).toBe(docs[0]!.expected);
      const { rows } = await db.pool.query<{ status: string; content: string }>(
        "select status, content from messages where role = 'assistant' order by id desc limit 1",
      );
      expect(rows[0]!.status).toBe('partial');
      expect(said.startsWith(rows[0]!.content) || rows[0]!.content.startsWith(said)).toBe(true);
    } finally {
      if (TEST_DB === 'postgres') await db.pool.end();
      await db.close();
    }
  }, 90_000);
});
