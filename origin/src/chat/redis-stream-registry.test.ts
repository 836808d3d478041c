import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../cache/redis.js';
import { connectForTest, deleteKeys, freePort, uniquePrefix } from '../cache/testing.js';
import { streamKeys } from './redis-stream-keys.js';
import { type RedisStreamOptions, RedisStreamRegistry } from './redis-stream-registry.js';
import type { ChatStream, StreamLimits } from './stream-registry.js';
import {
  chatStreamsContract,
  collect,
  contractLimits,
  DONE,
  META,
  mustResume,
  settle,
  text,
  until,
} from './streams.contract.js';

const REDIS_URL = process.env.TEST_REDIS_URL;
const owner = { siteId: 1, conversationId: '00000000-0000-4000-8000-000000000001' };

describe.runIf(REDIS_URL)('RedisStreamRegistry', () => {
  const prefix = uniquePrefix('chat-streams');
  let redis: Redis;
  let run = 0;
  const clients: Redis[] = [];

  beforeAll(async () => {
    redis = await connectForTest(REDIS_URL!, 'test-chat-streams');
  });

  afterAll(async () => {
    await deleteKeys(redis, prefix);
    for (const client of clients) client.disconnect();
    redis.disconnect();
  });

  /** One origin's registry; `client` lets a test cut that origin off Redis (as if it died). */
  const origin = (
    keyPrefix: string,
    limits: StreamLimits,
    more: Partial<RedisStreamOptions> = {},
    client: Redis = redis,
  ) =>
    new RedisStreamRegistry({
      redis: client,
      connectReader: () => {
        const reader = connectRedis(REDIS_URL!, { name: 'test-reader', commandTimeoutMs: 5_000 });
        clients.push(reader);
        return reader;
      },
      keyPrefix,
      limits,
      leaseMs: 1_000,
      runningTtlMs: 30_000,
      maxReaders: 10,
      blockMs: 200,
      ...more,
    });

  // Two origins on one Redis, each test on its own prefix.
  chatStreamsContract(async (limits) => {
    const keyPrefix = `${prefix}${run++}:`;
    return { streams: origin(keyPrefix, limits), elsewhere: origin(keyPrefix, limits) };
  });

  it('caps each stream (MAXLEN) and gives every key a TTL, the retention once finished', async () => {
    const keyPrefix = `${prefix}cap:`;
    const streams = origin(keyPrefix, { ...contractLimits, maxEventsPerStream: 10 });
    const stream = streams.create(owner, 'q');
    for (let i = 0; i < 25; i++) stream.emit('token', { text: 'x' });
    await settle();
    const keys = streamKeys(keyPrefix, stream.id);
    expect(await redis.xlen(keys.events)).toBe(10);
    for (const key of [keys.events, keys.meta, keys.lease]) {
      expect(await redis.pttl(key)).toBeGreaterThan(0);
    }
    stream.finish();
    await settle();
    expect(await redis.exists(keys.lease)).toBe(0);
    const ttl = await redis.pttl(keys.events);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(contractLimits.retentionMs);
  });

  it('keeps an answer running while its reader follows it from another origin', async () => {
    const keyPrefix = `${prefix}grace:`;
    const limits = { ...contractLimits, detachGraceMs: 100 };
    const producer = origin(keyPrefix, limits);
    const stream = producer.create(owner, 'q');
    stream.emit('token', { text: 'a' });
    const detach = stream.subscribe(0, () => {});
    await settle();
    const resumed = await mustResume(origin(keyPrefix, limits), `${stream.id}.1`, 1);
    const events = collect(resumed.subscribe);
    detach();
    await settle(600);
    expect(stream.signal.aborted).toBe(false);
    stream.emit('token', { text: 'b' });
    stream.finish();
    expect(text(await events)).toBe('b');
  });

  it('gives a reader here an event only once Redis holds it, so a resume elsewhere never lacks it', async () => {
    const keyPrefix = `${prefix}ahead:`;
    const stream = origin(keyPrefix, contractLimits).create(owner, 'q');
    const got: string[] = [];
    stream.subscribe(0, (event) => {
      if (event !== null) got.push(event.id);
    });
    stream.emit('token', { text: 'a' });
    await until(() => got.length === 1, 2_000);
    // Writes wait while Redis is paused: the next event must wait with them.
    await redis.call('CLIENT', 'PAUSE', '400', 'WRITE');
    stream.emit('token', { text: 'b' });
    await settle(200);
    expect(got).toEqual([`${stream.id}.1`]);
    await until(() => got.length === 2, 3_000);
    expect(await redis.xlen(streamKeys(keyPrefix, stream.id).events)).toBe(2);
    stream.finish();
  });

  it('refuses readers past the cap with a 503', async () => {
    const keyPrefix = `${prefix}readers:`;
    const producer = origin(keyPrefix, contractLimits);
    const reader = origin(keyPrefix, contractLimits, { maxReaders: 1 });
    const stream = producer.create(owner, 'q');
    stream.emit('token', { text: 'a' });
    await settle();
    const first = await mustResume(reader, `${stream.id}.1`, 1);
    const detach = first.subscribe(() => {});
    await expect(reader.resume(`${stream.id}.1`, 1)).rejects.toMatchObject({
      code: 'overloaded',
    });
    detach();
    expect(reader.remoteReaders).toBe(0);
    // Closing the origin ends the readers it still has.
    const second = await mustResume(reader, `${stream.id}.1`, 1);
    const ended = collect(second.subscribe);
    await settle();
    await reader.close();
    expect(text(await ended)).toBe('');
    expect(reader.remoteReaders).toBe(0);
    stream.finish();
  });

  it('takes over an answer whose origin died: the reader gets every token exactly once', async () => {
    const keyPrefix = `${prefix}takeover:`;
    const words = ['Paris ', 'is ', 'the ', 'capital ', 'of ', 'France.'];
    const answer = (stream: ChatStream, from = 0) => {
      stream.emit('meta', META);
      stream.emit('sources', { sources: [] });
      for (const word of words.slice(from)) stream.emit('token', { text: word });
    };
    // The producer has its own connection, cut below as if its process were killed.
    const producerClient = await connectForTest(REDIS_URL!, 'test-producer');
    const producer = origin(keyPrefix, contractLimits, {}, producerClient);
    const stream = producer.create(owner, 'What is the capital of France?');
    stream.emit('meta', META);
    stream.emit('sources', { sources: [] });
    for (const word of words.slice(0, 3)) stream.emit('token', { text: word });
    await settle();
    producerClient.disconnect();
    // Sent by the dying origin after its link went: never reaches Redis, so not in the resume.
    stream.emit('token', { text: words[3]! });

    const restarted: string[] = [];
    const taker = origin(keyPrefix, contractLimits, { onTakeover: (id) => restarted.push(id) });
    let fence: Promise<unknown> | undefined;
    const resumed = await taker.resume(`${stream.id}.4`, 1, undefined, (again, question) => {
      expect(question).toBe('What is the capital of France?');
      expect(again.id).toBe(stream.id);
      // The taker stores the exchange under the next generation of the stream's lease.
      fence = again.fence();
      answer(again);
      again.emit('done', { ...DONE, messageId: '1' });
      again.finish();
    });
    const events = await collect(resumed!.subscribe, 15_000);
    expect(restarted).toEqual([stream.id]);
    expect(await fence).toEqual({ streamId: stream.id, generation: 2 });
    // The reader saw up to "is" (event 4): "the" is replayed from Redis, the rest is answered
    // again here, each token once, with ids that follow on.
    expect(events.map((event) => event.id)).toEqual(
      [5, 6, 7, 8, 9].map((n) => `${stream.id}.${n}`),
    );
    expect(text(events)).toBe('the capital of France.');
    expect(events.at(-1)?.event).toBe('done');
  });

  it('stops a producer that lost its lease, so that two origins never append to one stream', async () => {
    const keyPrefix = `${prefix}fence:`;
    const producer = origin(keyPrefix, contractLimits);
    const stream = producer.create(owner, 'q');
    stream.emit('token', { text: 'a' });
    await settle();
    expect(await stream.fence()).toEqual({ streamId: stream.id, generation: 1 });
    const keys = streamKeys(keyPrefix, stream.id);
    await redis.set(keys.lease, 'someone-else');
    // Told before its next append or renewal: it must not store the exchange the other stores.
    expect(await stream.fence()).toBeNull();
    stream.emit('token', { text: 'b' });
    await until(() => stream.signal.aborted, 3_000);
    expect(stream.signal.aborted).toBe(true);
    expect(await redis.xlen(keys.events)).toBe(1);
  });

  it('ends a resumed stream at a gap instead of skipping an event', async () => {
    const keyPrefix = `${prefix}gap:`;
    const producer = origin(keyPrefix, contractLimits);
    const stream = producer.create(owner, 'q');
    for (let i = 1; i <= 3; i++) stream.emit('token', { text: `${i}` });
    await settle();
    await redis.xdel(streamKeys(keyPrefix, stream.id).events, '0-2');
    const resumed = await mustResume(origin(keyPrefix, contractLimits), `${stream.id}.0`, 1);
    expect(text(await collect(resumed.subscribe))).toBe('1');
    stream.finish();
  });
});

describe('RedisStreamRegistry when Redis is down', () => {
  it('still streams the answer to its own reader', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const down = connectRedis(url, { name: 'test-down' });
    const errors: string[] = [];
    const streams = new RedisStreamRegistry({
      redis: down,
      connectReader: () => connectRedis(url, { name: 'test-down-reader' }),
      keyPrefix: 'test:down:',
      limits: contractLimits,
      leaseMs: 1_000,
      runningTtlMs: 30_000,
      maxReaders: 10,
      onError: (_error, operation) => errors.push(operation),
    });
    const stream = streams.create(owner, 'q');
    const events = collect((listener) => stream.subscribe(0, listener));
    for (let i = 1; i <= 3; i++) stream.emit('token', { text: `${i}` });
    stream.finish();
    expect(text(await events)).toBe('123');
    await settle();
    expect(errors.length).toBeGreaterThan(0);
    await expect(streams.resume('AAAAAAAAAAAA.1', 1)).rejects.toMatchObject({
      code: 'unavailable',
    });
    down.disconnect();
  });
});
