import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, createTestDatabase, type TestDatabase } from '../../origin/test/harness.js';
import { type LlmStub, STUB_ANSWER, startLlmStub } from '../../origin/test/llm-stub.js';
import { answerText, readSse, type SseItem } from '../../origin/test/sse.js';
import { type EdgeProcess, newEdgeSecret, startEdge } from '../edge-process.js';
import { type OriginProcess, startOrigin } from '../origin-process.js';

const admin = { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' };
const QUESTION = JSON.stringify({ message: 'What is the capital of France?' });

/**
 * An answer lives in the memory of the origin producing it. With two origins behind the Worker, a
 * reader who reconnects with `Last-Event-ID` may reach the other one: the Worker must find the
 * origin that holds the answer, so that the reader gets the rest of it, once.
 */
describe('resuming an answer through the Worker with two origins', () => {
  let database: TestDatabase;
  let llm: LlmStub;
  let secret: string;
  let origins: OriginProcess[] = [];
  let edge: EdgeProcess;
  let siteKey: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    llm = await startLlmStub();
    secret = newEdgeSecret();
    const env = {
      EMBEDDER: 'hash',
      ADMIN_TOKEN,
      EDGE_SHARED_SECRET: secret,
      LLM_BASE_URL: llm.url,
      LLM_MODEL: 'slow-250',
      // The reader is away while the test reconnects: keep the answer running meanwhile.
      CHAT_DETACH_GRACE_MS: '30000',
      ...database.env,
    };
    const started = await Promise.allSettled([startOrigin(env), startOrigin(env)]);
    origins = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    for (const result of started) if (result.status === 'rejected') throw result.reason;
    edge = await startEdge({ originUrls: origins.map((origin) => origin.url), secret });
    const created = await fetch(`${edge.url}/api/v1/sites`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ name: 'geo' }),
    });
    siteKey = ((await created.json()) as { site: { publicKey: string } }).site.publicKey;
    const added = await fetch(`${edge.url}/api/v1/sites/geo/documents`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ title: 'France', content: 'Paris is the capital of France.' }),
    });
    expect(added.status).toBe(201);
  });

  afterAll(async () => {
    await edge?.stop();
    await Promise.all(origins.map((origin) => origin.stop()));
    await llm?.close();
    await database?.drop();
  });

  const ask = (url: string, headers: Record<string, string> = {}) =>
    fetch(`${url}/api/v1/sites/geo/chat`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Site-Key': siteKey, ...headers },
      body: QUESTION,
    });

  it('reaches the origin that holds the answer, whichever the Worker tries first', async () => {
    const first = await ask(edge.url);
    expect(first.status).toBe(200);
    const before = await readSse(first.body!, {
      timeoutMs: 30_000,
      stop: (_item, all) => all.filter((item) => item.event === 'token').length >= 3,
    });
    const lastId = before.filter((item) => item.id !== undefined).at(-1)!.id!;

    // Exactly one origin holds it; the other says so in a way the Worker recognises.
    const direct = await Promise.all(
      origins.map(async (origin) => {
        const response = await ask(origin.url, {
          'Last-Event-ID': lastId,
          'X-Edge-Secret': secret,
        });
        await response.body?.cancel();
        return { status: response.status, resume: response.headers.get('x-resume') };
      }),
    );
    expect(direct.map((d) => d.status).sort()).toEqual([200, 404]);
    expect(direct.find((d) => d.status === 404)?.resume).toBe('unknown-stream');

    // The Worker takes its origins in turn: of two reconnects, one starts at the wrong origin.
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const again = await ask(edge.url, { 'Last-Event-ID': lastId });
      expect(again.status).toBe(200);
      const rest: SseItem[] = await readSse(again.body!, { timeoutMs: 30_000 });
      const sequence = (item: SseItem) => Number(item.id?.split('.')[1]);
      expect(
        rest
          .filter((item) => item.id !== undefined)
          .every((item) => sequence(item) > sequence({ id: lastId, at: 0 })),
      ).toBe(true);
      expect(answerText([...before, ...rest])).toBe(STUB_ANSWER);
      expect(rest.at(-1)?.event).toBe('done');
    }
  });
});
