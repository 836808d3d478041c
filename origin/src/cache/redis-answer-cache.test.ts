import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answer, answerCacheContract, vec } from './answer-cache.contract.js';
import { connectRedis } from './redis.js';
import { decodeEmbedding, encodeEmbedding, RedisAnswerCache } from './redis-answer-cache.js';
import { connectForTest, deleteKeys, freePort, uniquePrefix } from './testing.js';

const REDIS_URL = process.env.TEST_REDIS_URL;

describe('embedding encoding', () => {
  it('round-trips float32 values, also from a view into a larger buffer', () => {
    const backing = new Float32Array([9, 0.25, -1.5, 3e-7, 9]);
    const view = backing.subarray(1, 4);
    expect(Array.from(decodeEmbedding(encodeEmbedding(view)))).toEqual(Array.from(view));
  });
});

describe.runIf(REDIS_URL)('RedisAnswerCache', () => {
  const prefix = uniquePrefix('answer-cache');
  let redis: Redis;
  let run = 0;

  beforeAll(async () => {
    redis = await connectForTest(REDIS_URL!, 'test-answer-cache');
  });

  afterAll(async () => {
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  // Each test gets its own prefix so the contract's fixed site ids never meet.
  answerCacheContract(
    (limits) => new RedisAnswerCache(redis, { ...limits, keyPrefix: `${prefix}${run++}:` }),
  );

  it('sets the TTL on every key it writes', async () => {
    const keyPrefix = `${prefix}ttl:`;
    const cache = new RedisAnswerCache(redis, { keyPrefix, ttlSeconds: 120 });
    await cache.put(1, 1, 'q', vec(1, 0), answer('a'));
    const keys = await redis.keys(`${keyPrefix}*`);
    expect(keys).toHaveLength(2);
    for (const key of keys) {
      const ttl = await redis.ttl(key);
      expect(ttl).toBeGreaterThan(100);
      expect(ttl).toBeLessThanOrEqual(120);
    }
  });

  it('treats a corrupt stored value as a miss, not an error', async () => {
    const keyPrefix = `${prefix}corrupt:`;
    const errors: unknown[] = [];
    const cache = new RedisAnswerCache(redis, { keyPrefix, onError: (e) => errors.push(e) });
    await cache.put(1, 1, 'q', vec(1, 0), answer('a'));
    for (const key of await redis.keys(`${keyPrefix}ans:*`)) await redis.set(key, '{not json');
    await redis.lpush(`${keyPrefix}q:1:1`, 'garbage');
    expect(await cache.getExact(1, 1, 'q')).toBeNull();
    expect(await cache.getSimilar(1, 1, vec(1, 0), 0.5)).toBeNull();
    expect(errors).toEqual([]);
    expect(cache.healthy).toBe(true);
  });
});

describe('RedisAnswerCache when Redis is down', () => {
  let redis: Redis;
  beforeAll(async () => {
    redis = connectRedis(`redis://127.0.0.1:${await freePort()}`, { name: 'test-down' });
  });
  afterAll(() => redis.disconnect());

  it('returns misses, never throws, and reports the errors', async () => {
    const errors: string[] = [];
    const cache = new RedisAnswerCache(redis, {
      keyPrefix: 'test:down:',
      onError: (_err, operation) => errors.push(operation),
    });
    const started = Date.now();
    await cache.put(1, 1, 'q', vec(1, 0), answer('a'));
    expect(await cache.getExact(1, 1, 'q')).toBeNull();
    expect(await cache.getSimilar(1, 1, vec(1, 0), 0.5)).toBeNull();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(errors).toEqual(['put', 'getExact', 'getSimilar']);
    expect(cache.healthy).toBe(false);
  });
});
