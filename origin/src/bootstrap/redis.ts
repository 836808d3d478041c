import type { Redis } from 'ioredis';
import { connectRedis, redisIsUp, waitForRedis } from '../cache/redis.js';
import type { Config } from '../config.js';
import { checkRedisPolicy } from '../limits/rate-limiter.js';
import type { Logger } from '../logger.js';

/** The configuration the Redis clients take. */
export type RedisConfig = Pick<Config, 'REDIS_URL' | 'RATE_LIMIT_REDIS_URL'>;

/** The Redis clients in use (null: that role runs in process) and their health probes. */
export interface RedisClients {
  /** The answer cache's Redis. */
  cache: Redis | null;
  /** The rate limits' Redis: their own, or the cache's. */
  limits: Redis | null;
  probes: { cache: (() => Promise<boolean>) | null; limits: (() => Promise<boolean>) | null };
  disconnect(): void;
}

/**
 * Connects the cache's and the limits' Redis (one client when they share a URL), waits a little
 * for them, and warns when the limits' Redis may evict keys.
 */
export async function connectRedisClients(
  config: RedisConfig,
  logger: Logger,
): Promise<RedisClients> {
  const onRedisError = (name: string) => (error: unknown) =>
    logger.warn(
      { err: error, redis: name },
      'redis unavailable; falling back (cache misses, limits per process)',
    );
  const cache =
    config.REDIS_URL === undefined
      ? null
      : connectRedis(config.REDIS_URL, { name: 'ragedge-cache', onError: onRedisError('cache') });
  const limits =
    config.RATE_LIMIT_REDIS_URL === undefined
      ? cache
      : connectRedis(config.RATE_LIMIT_REDIS_URL, {
          name: 'ragedge-limits',
          onError: onRedisError('limits'),
        });
  const disconnect = () => {
    cache?.disconnect();
    if (limits !== cache) limits?.disconnect();
  };
  try {
    // Commands fail fast while a client is not ready (no offline queue): wait a little at boot, no more.
    for (const client of new Set([cache, limits]))
      if (client !== null) await waitForRedis(client, 3_000);
    if (limits !== null) {
      const policy = await checkRedisPolicy(limits);
      if (policy !== 'noeviction') {
        logger.warn(
          { policy },
          'the rate-limit Redis may evict keys (maxmemory-policy is not noeviction): cache pressure could reset limits; give limits their own Redis (RATE_LIMIT_REDIS_URL)',
        );
      }
    }
  } catch (error) {
    disconnect();
    throw error;
  }
  return {
    cache,
    limits,
    probes: {
      cache: cache === null ? null : () => redisIsUp(cache),
      limits: limits === null ? null : () => redisIsUp(limits),
    },
    disconnect,
  };
}
