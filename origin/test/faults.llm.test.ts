import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OriginProcess, startOrigin } from '../../test/origin-process.js';
import { openDatabase } from '../src/db/database.js';
import { ADMIN_TOKEN, createTestDatabase, TEST_DB, type TestDatabase } from './harness.js';
import { type LlmStub, startLlmStub } from './llm-stub.js';
import { ORIGIN_START_MS } from './private-services.js';
import { answerText, readSse } from './sse.js';

const auth = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };

/** Runs `query` on the database a stopped origin used (PGlite's folder is free once it exits). */
async function queryAfter<T extends pg.QueryResultRow>(
  database: TestDatabase,
  text: string,
): Promise<T[]> {
  if (database.url !== undefined) {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      return (await client.query<T>(text)).rows;
    } finally {
      await client.end();
    }
  }
  const db = await openDatabase({
    url: undefined,
    dataDir: database.env.DATA_DIR!,
    poolMax: 1,
    statementTimeoutMs: 10_000,
  });
  try {
    return (await db.pool.query<T>(text)).rows;
  } finally {
    await db.close();
  }
}

/**
 * Each case is a real origin process whose LLM upstream misbehaves one way (the stub's model
 * names): the reader must get a clean `error` event, what was said must be stored, marked
 * partial, and the process must keep serving.
 */
const CASES = [
  { model: 'hang', what: 'hangs before any token', code: 'upstream_timeout' },
  { model: 'stall-60000', what: 'stalls after the first token', code: 'upstream_timeout' },
  { model: 'error-500', what: 'answers HTTP 500', code: 'upstream_error' },
  { model: 'error-midstream', what: 'closes the connection mid-stream', code: /^upstream_/ },
] as const;

describe(`the LLM upstream fails: a clean error event, what was said is kept, no crash (real origin process, ${TEST_DB})`, () => {
  let stub: LlmStub;
  const started: Array<{ origin: OriginProcess; database: TestDatabase }> = [];
  beforeAll(async () => {
    stub = await startLlmStub();
  });
  afterAll(async () => {
    for (const { origin, database } of started) {
      await origin.stop('SIGKILL');
      await database.drop();
    }
    await stub?.close();
  });

  for (const { model, what, code } of CASES) {
    it(`when it ${what} (${model})`, async () => {
      const database = await createTestDatabase();
      const origin = await startOrigin(
        {
          NODE_ENV: 'test',
          ...database.env,
          ADMIN_TOKEN,
          EMBEDDER: 'hash',
          RERANKER: 'none',
          LLM_BASE_URL: stub.url,
          LLM_API_KEY: 'sk-test-secret',
          LLM_MODEL: model,
          LLM_TIMEOUT_MS: '1500',
        },
        ORIGIN_START_MS,
      );
      started.push({ origin, database });
      const post = (path: string, body: unknown) =>
        fetch(`${origin.url}${path}`, {
          method: 'POST',
          headers: auth,
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(20_000),
        });
      expect((await post('/api/v1/sites', { name: 'docs' })).status).toBe(201);
      const docs = await post('/api/v1/sites/docs/documents', {
        documents: [{ title: 'Paris', content: '# Paris\n\nParis is the capital of France.' }],
      });
      expect(docs.status).toBe(201);

      const chat = await post('/api/v1/sites/docs/chat', {
        message: 'What is the capital of France?',
      });
      expect(chat.status).toBe(200);
      const items = await readSse(chat.body!, { timeoutMs: 20_000 });
      const last = items.at(-1)!;
      expect(last.event).toBe('error');
      expect(last.data).toMatchObject({ code, message: expect.any(String), retryable: true });
      expect(JSON.stringify(last.data)).not.toMatch(/sk-test-secret|\.ts:\d|\n\s+at /);
      const said = answerText(items);
      if (model === 'stall-60000') expect(said.length).toBeGreaterThan(0);
      if (model === 'hang' || model === 'error-500') expect(said).toBe('');

      // The same process serves on: health, a search, and a new question.
      const health = await fetch(`${origin.url}/api/v1/health`);
      expect(health.status).toBe(200);
      const search = await post('/api/v1/sites/docs/search', { query: 'capital' });
      expect(search.status).toBe(200);
      expect(origin.child.exitCode).toBeNull();

      expect(await origin.stop('SIGTERM')).toBe(0);
      const rows = await queryAfter<{ role: string; status: string; content: string }>(
        database,
        'select role, status, content from messages order by id',
      );
      expect(rows.slice(0, 2)).toEqual([
        { role: 'user', status: 'complete', content: 'What is the capital of France?' },
        { role: 'assistant', status: said === '' ? 'error' : 'partial', content: said },
      ]);
      expect(origin.logs.filter((line) => /uncaught|unhandled/i.test(line))).toEqual([]);
    }, 240_000);
  }
});
