import { Redis } from 'ioredis';
import pg from 'pg';
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
    // For the questions of the later tests, which must each be answered (not refused) anew.
    for (const [title, content] of [
      ['Seine', 'The Seine is about one hundred metres wide where it runs through Paris.'],
      ['Eiffel Tower', 'The Eiffel Tower was built in Paris from 1887 to 1889.'],
    ]) {
      const more = await fetch(`${cluster.edge.url}/api/v1/sites/geo/documents`, {
        method: 'POST',
        headers: admin,
        body: JSON.stringify({ title, content }),
      });
      expect(more.status).toBe(201);
    }
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
  /** What the database holds of a conversation: role, status and text of each message. */
  const stored = async (conversationId: string) => {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query(
        'select role, status, content from messages where conversation_id = $1 order by id',
        [conversationId],
      );
      return rows;
    } finally {
      await client.end();
    }
  };
  /** Waits (bounded) until `check` holds, polling. */
  const until = async (check: () => boolean | Promise<boolean>, timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error('timed out waiting');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const alive = (origin: Cluster['origins'][number]) =>
    origin.child.exitCode === null && origin.child.signalCode === null;
  /** The origin that took request `id`, once its log line is read (it may lag the response). */
  const producerOf = async (id: string) => {
    await until(() => cluster.originOf(id) !== undefined, 5_000);
    return cluster.originOf(id)!;
  };
  /** The one exchange an answer must leave: the question and the whole answer, once. */
  const oneExchange = (question: string) => [
    { role: 'user', status: 'complete', content: JSON.parse(question).message },
    { role: 'assistant', status: 'complete', content: STUB_ANSWER },
  ];

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
    const producer = await producerOf(first.headers.get('x-request-id')!);
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

  it('stores one exchange when a paused producer comes back after another origin took over', async () => {
    const question = JSON.stringify({ message: 'How wide is the Seine in Paris?' });
    const first = await ask(cluster.edge.url, {}, question);
    const producer = await producerOf(first.headers.get('x-request-id')!);
    const seen = await readSse(first.body!, {
      timeoutMs: 30_000,
      stop: (_item, all) => tokens(all) >= 3,
    });
    expect(seen[0]).toMatchObject({ event: 'meta', data: { cache: 'miss' } });
    // Paused, not dead (a long stall): its lease lapses and a resume elsewhere takes the answer
    // over; when it wakes it must neither store its own half answer nor a second exchange.
    producer.child.kill('SIGSTOP');
    try {
      const other = cluster.origins.find((o) => o !== producer && alive(o))!;
      const again = await ask(
        other.url,
        { 'Last-Event-ID': withId(seen).at(-1)!.id!, 'X-Edge-Secret': cluster.secret },
        question,
      );
      expect(again.status).toBe(200);
      const rest = await readSse(again.body!, { timeoutMs: 60_000 });
      expect(answerText([...seen, ...rest])).toBe(STUB_ANSWER);
      expect(rest.at(-1)?.event).toBe('done');
    } finally {
      producer.child.kill('SIGCONT');
    }
    const requestId = first.headers.get('x-request-id')!;
    // The producer's turn ends once it learns of the takeover; it logs either way.
    await until(() =>
      producer.logs.some((line) => line.includes(requestId) && line.includes('"chat turn')),
    );
    const conversationId = (seen[0]!.data as { conversationId: string }).conversationId;
    expect(producer.logs.some((line) => line.includes('chat turn not stored'))).toBe(true);
    expect(await stored(conversationId)).toEqual(oneExchange(question));
  });

  it('resumes from its start a stream that broke before its first event: answered and stored once', async () => {
    const question = JSON.stringify({ message: 'When was the Eiffel Tower built?' });
    const first = await ask(cluster.edge.url, {}, question);
    expect(first.status).toBe(200);
    const streamId = first.headers.get('x-stream-id');
    expect(streamId).toMatch(/^[\w-]{12}$/);
    // The reader's stream breaks before any event, and the origin answering dies too, once the
    // stream is known to Redis (before that, nothing of it exists anywhere: the reader asks again).
    await first.body!.cancel();
    const producer = await producerOf(first.headers.get('x-request-id')!);
    const redis = new Redis(REDIS_URL!, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
      await until(
        async () => (await redis.exists(`${cluster.keyPrefix}chat:{${streamId}}:meta`)) === 1,
      );
    } finally {
      redis.disconnect();
    }
    producer.child.kill('SIGKILL');
    const again = await ask(cluster.edge.url, { 'Last-Event-ID': `${streamId}.0` }, question);
    expect(again.status).toBe(200);
    const all = await readSse(again.body!, { timeoutMs: 60_000 });
    const ids = withId(all).map((item) => item.id!);
    expect(ids).toEqual(ids.map((_, i) => `${streamId}.${i + 1}`));
    expect(all.filter((item) => item.event === 'meta')).toHaveLength(1);
    expect(answerText(all)).toBe(STUB_ANSWER);
    expect(all.at(-1)?.event).toBe('done');
    const meta = all.find((item) => item.event === 'meta')!;
    expect(meta.data).toMatchObject({ cache: 'miss' });
    const conversationId = (meta.data as { conversationId: string }).conversationId;
    expect(await stored(conversationId)).toEqual(oneExchange(question));
  });
});
