import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, createTestDatabase, type TestDatabase } from '../../origin/test/harness.js';
import { type LlmStub, STUB_ANSWER, startLlmStub } from '../../origin/test/llm-stub.js';
import { answerText, readSse, type SseItem } from '../../origin/test/sse.js';
import { type Cluster, startCluster } from '../cluster.js';

const admin = { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' };
const QUESTION = JSON.stringify({ message: 'What is the capital of France?' });
const REDIS_URL = process.env.TEST_REDIS_URL;

/**
 * Three origins on one PostgreSQL and one Redis behind the Worker: the answers in progress live
 * in Redis, so a reader resumes on any origin, and when the origin producing an answer is killed
 * mid-stream another takes the answer over; the reader gets every token exactly once.
 */
describe.runIf(REDIS_URL)('an answer resumed on any of three origins', () => {
  let database: TestDatabase;
  let llm: LlmStub;
  let cluster: Cluster;
  let siteKey: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    llm = await startLlmStub();
    cluster = await startCluster({
      count: 3,
      database,
      redisUrl: REDIS_URL!,
      env: {
        LLM_BASE_URL: llm.url,
        LLM_MODEL: 'slow-250',
        // The reader is away while the test reconnects: keep the answer running meanwhile.
        CHAT_DETACH_GRACE_MS: '30000',
        // A killed origin's answers are taken over this long after its last renewal.
        CHAT_STREAM_LEASE_MS: '1500',
      },
    });
    const created = await fetch(`${cluster.edge.url}/api/v1/sites`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ name: 'geo' }),
    });
    siteKey = ((await created.json()) as { site: { publicKey: string } }).site.publicKey;
    const added = await fetch(`${cluster.edge.url}/api/v1/sites/geo/documents`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ title: 'France', content: 'Paris is the capital of France.' }),
    });
    expect(added.status).toBe(201);
  });

  afterAll(async () => {
    await cluster?.stop();
    await llm?.close();
    await database?.drop();
  });

  const ask = (url: string, headers: Record<string, string> = {}, body = QUESTION) =>
    fetch(`${url}/api/v1/sites/geo/chat`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Site-Key': siteKey, ...headers },
      body,
    });
  const withId = (items: SseItem[]) => items.filter((item) => item.id !== undefined);
  const tokens = (items: SseItem[]) => items.filter((item) => item.event === 'token').length;

  it('resumes on every origin directly: none says "look elsewhere"', async () => {
    const first = await ask(cluster.edge.url);
    const before = await readSse(first.body!, {
      timeoutMs: 30_000,
      stop: (_item, all) => tokens(all) >= 2,
    });
    const lastId = withId(before).at(-1)!.id!;
    for (const origin of cluster.origins) {
      const again = await ask(origin.url, {
        'Last-Event-ID': lastId,
        'X-Edge-Secret': cluster.secret,
      });
      expect(again.status).toBe(200);
      const rest = await readSse(again.body!, { timeoutMs: 30_000 });
      expect(answerText([...before, ...rest])).toBe(STUB_ANSWER);
      expect(rest.at(-1)?.event).toBe('done');
    }
    const unknown = await ask(cluster.origins[0]!.url, {
      'Last-Event-ID': 'AAAAAAAAAAAA.3',
      'X-Edge-Secret': cluster.secret,
    });
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('x-resume')).toBeNull();
  });

  it('gives every token exactly once when the producing origin is killed mid-stream', async () => {
    // Not the question above: its answer is cached now, and this one must come from the model.
    const question = JSON.stringify({ message: 'Which river runs through Paris, and since when?' });
    const first = await ask(cluster.edge.url, {}, question);
    expect(first.status).toBe(200);
    const producer = cluster.originOf(first.headers.get('x-request-id')!);
    expect(producer).toBeDefined();
    let seen: SseItem[] = [];
    await readSse(first.body!, {
      timeoutMs: 30_000,
      stop: (_item, all) => {
        seen = all;
        // Killed while the reader is connected: the Worker ends the stream with its own error.
        if (tokens(all) === 3 && !producer!.child.killed) producer!.child.kill('SIGKILL');
        return false;
      },
    }).catch(() => {});
    expect(seen[0]).toMatchObject({ event: 'meta', data: { cache: 'miss' } });
    expect(tokens(seen)).toBeGreaterThanOrEqual(3);
    expect(seen.at(-1)?.event).toBe('error');
    expect(seen.some((item) => item.event === 'done')).toBe(false);

    const lastId = withId(seen).at(-1)!.id!;
    const again = await ask(cluster.edge.url, { 'Last-Event-ID': lastId }, question);
    expect(again.status).toBe(200);
    const rest = await readSse(again.body!, { timeoutMs: 60_000 });
    const ids = withId([...seen, ...rest]).map((item) => Number(item.id!.split('.')[1]));
    // One id per event, in order, none missing, none twice, across the two origins.
    expect(ids).toEqual(ids.map((_, i) => i + 1));
    expect(answerText([...seen, ...rest])).toBe(STUB_ANSWER);
    expect(rest.at(-1)?.event).toBe('done');
    const takers = cluster.origins.filter((origin) =>
      origin.logs.some((line) => line.includes('took over an answer')),
    );
    expect(takers).toHaveLength(1);
    expect(takers[0]).not.toBe(producer);
  });
});
