import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../cache/redis.js';
import {
  connectForTest,
  deleteKeys,
  freePort,
  startPrivateRedis,
  uniquePrefix,
} from '../cache/testing.js';
import { checkRedisPolicy, createRateLimiter, type LimitBudget } from './rate-limiter.js';
import { burst } from './testing.js';

const REDIS_URL = process.env.TEST_REDIS_URL;

const budgets: Record<'chat' | 'search' | 'resume' | 'other', LimitBudget> = {
  chat: { points: 5, durationSeconds: 300 },
  search: { points: 20, durationSeconds: 300 },
  resume: { points: 10, durationSeconds: 60 },
  other: { points: 100, durationSeconds: 300 },
};

/** Writes 16 KiB values until the server has evicted keys; returns how many it evicted. */
async function fillWithJunk(redis: Redis, prefix: string): Promise<number> {
  const junk = 'x'.repeat(16 * 1024);
  for (let round = 0; round < 50; round++) {
    const pipeline = redis.pipeline();
    for (let i = 0; i < 100; i++) pipeline.set(`${prefix}junk:${round}:${i}`, junk);
    await pipeline.exec();
    const evicted = Number(/evicted_keys:(\d+)/.exec(await redis.info('stats'))?.[1] ?? 0);
    if (evicted > 0 && round >= 5) return evicted;
  }
  return 0;
}

describe.runIf(REDIS_URL)(
  'createRateLimiter on the limits Redis, beside a full cache Redis',
  () => {
    const prefix = uniquePrefix('rate-limiter');
    let limits: Redis;
    let cache: Redis;
    let cacheServer: Awaited<ReturnType<typeof startPrivateRedis>>;

    beforeAll(async () => {
      limits = await connectForTest(REDIS_URL!, 'test-limits');
      cacheServer = await startPrivateRedis([
        '--maxmemory',
        '2mb',
        '--maxmemory-policy',
        'allkeys-lru',
      ]);
      cache = await connectForTest(cacheServer.url, 'test-cache');
    });

    afterAll(async () => {
      await deleteKeys(limits, prefix);
      limits.disconnect();
      cache?.disconnect();
      await cacheServer?.stop();
    });

    it('runs on a limits Redis that never evicts, and reads the cache Redis policy', async () => {
      expect(await checkRedisPolicy(limits)).toBe('noeviction');
      expect(await checkRedisPolicy(cache)).toBe('allkeys-lru');
    });

    it('allows exactly the budget of a burst, keeps other keys apart, and survives cache pressure', async () => {
      expect(await fillWithJunk(cache, 'before:')).toBeGreaterThan(0);
      const limiter = createRateLimiter({ redis: limits, budgets, keyPrefix: `${prefix}rl` });
      expect(limiter.kind).toBe('redis');

      const first = await burst(limiter, 'site:1', 50);
      expect(first.allowed).toBe(5);
      const refused = first.decisions.filter((d) => !d.allowed);
      expect(refused).toHaveLength(45);
      expect(refused.every((d) => d.retryAfterSeconds >= 1 && d.retryAfterSeconds <= 300)).toBe(
        true,
      );
      expect((await limiter.consume('chat', 'site:2')).allowed).toBe(true);

      expect(await fillWithJunk(cache, 'after:')).toBeGreaterThan(0);
      expect((await limiter.consume('chat', 'site:1')).allowed).toBe(false);
      expect((await burst(limiter, 'site:2', 10)).allowed).toBe(4);
    });

    it('would lose its counts on the cache Redis: allkeys-lru evicts the limiter key', async () => {
      const limiter = createRateLimiter({ redis: cache, budgets, keyPrefix: `${prefix}on-cache` });
      expect((await burst(limiter, 'site:1', 10)).allowed).toBe(5);
      expect(await cache.exists(`${prefix}on-cache:chat:site:1`)).toBe(1);
      await fillWithJunk(cache, 'evict:');
      expect(await cache.exists(`${prefix}on-cache:chat:site:1`)).toBe(0);
      expect((await limiter.consume('chat', 'site:1')).allowed).toBe(true);
    });
  },
);

describe('createRateLimiter when its Redis is down', () => {
  let redis: Redis;
  beforeAll(async () => {
    redis = connectRedis(`redis://127.0.0.1:${await freePort()}`, { name: 'test-down' });
  });
  afterAll(() => redis.disconnect());

  it('falls back to the in-process limiter, so a burst still gets exactly the budget', async () => {
    const limiter = createRateLimiter({ redis, budgets, keyPrefix: 'test:down:rl' });
    expect(limiter.kind).toBe('redis');
    const started = Date.now();
    const { allowed } = await burst(limiter, 'site:1', 50);
    expect(allowed).toBe(5);
    expect(Date.now() - started).toBeLessThan(1000);
    expect((await limiter.consume('chat', 'site:2')).allowed).toBe(true);
  });

  it('reads the policy as unknown', async () => {
    expect(await checkRedisPolicy(redis)).toBe('unknown');
  });
});
