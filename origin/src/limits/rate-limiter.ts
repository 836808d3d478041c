import type { Redis } from 'ioredis';
import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible';
import { z } from 'zod';

/** `resume`: reconnections to an answer in progress (`Last-Event-ID`), charged on their own. */
export type RateLimitBucket = 'chat' | 'search' | 'resume' | 'other';

export interface RateLimitDecision {
  allowed: boolean;
  remaining: number;
  retryAfterSeconds: number;
}

export interface RateLimiter {
  /** Takes one point from `key`'s budget in `bucket`; the caller composes keys (`site:1`, `ip:…`). */
  consume(bucket: RateLimitBucket, key: string): Promise<RateLimitDecision>;
  /** Whether `key` still has budget in `bucket`, without spending any (a check before work). */
  peek(bucket: RateLimitBucket, key: string): Promise<RateLimitDecision>;
  readonly kind: 'redis' | 'memory';
}

/** `points` requests per fixed window of `durationSeconds`. */
export interface LimitBudget {
  points: number;
  durationSeconds: number;
}

export const limitBudgetSchema = z.object({
  points: z.number().int().positive(),
  durationSeconds: z.number().int().positive(),
});

export interface RateLimiterOptions {
  /** The limits Redis; without it every limit is per process. */
  redis?: Redis;
  budgets: Record<RateLimitBucket, LimitBudget>;
  /** Prefix of every limiter key, e.g. `ragedge:rl`. */
  keyPrefix: string;
}

const BUCKETS: readonly RateLimitBucket[] = ['chat', 'search', 'resume', 'other'];

/**
 * Builds the rate limiter on `rate-limiter-flexible`. With `redis`, each bucket is a
 * `RateLimiterRedis` (one Lua script per consume, so concurrent origins share an exact count).
 *
 * Fallback when Redis is down: each Redis limiter has a `RateLimiterMemory` as its
 * `insuranceLimiter`, so a consume that fails on Redis (connection down, timeout, OOM) is counted
 * in process instead. Limits still apply, per process, and Redis counting resumes by itself when
 * it is back. The outage is reported by the Redis client's own error events (`connectRedis`).
 *
 * The limits Redis must not evict keys (`maxmemory-policy noeviction`; see `checkRedisPolicy`),
 * or memory pressure would silently reset budgets.
 */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const limiters = new Map<RateLimitBucket, RateLimiterAbstract>();
  for (const bucket of BUCKETS) {
    const budget = limitBudgetSchema.safeParse(options.budgets[bucket]);
    if (!budget.success) throw new Error(`rate limit budget '${bucket}': ${budget.error.message}`);
    const base = {
      keyPrefix: `${options.keyPrefix}:${bucket}`,
      points: budget.data.points,
      duration: budget.data.durationSeconds,
    };
    const memory = new RateLimiterMemory(base);
    limiters.set(
      bucket,
      options.redis
        ? new RateLimiterRedis({
            ...base,
            storeClient: options.redis,
            rejectIfRedisNotReady: true,
            insuranceLimiter: memory,
          })
        : memory,
    );
  }

  return {
    kind: options.redis ? 'redis' : 'memory',
    async consume(bucket, key) {
      try {
        const res = await limiters.get(bucket)!.consume(key);
        return { allowed: true, remaining: res.remainingPoints, retryAfterSeconds: 0 };
      } catch (err) {
        if (!(err instanceof RateLimiterRes)) throw err;
        return {
          allowed: false,
          remaining: 0,
          retryAfterSeconds: Math.max(1, Math.ceil(err.msBeforeNext / 1000)),
        };
      }
    },
    async peek(bucket, key) {
      const limiter = limiters.get(bucket)!;
      // A Redis that fails here is no reason to refuse: the consume after the work decides.
      const res = await limiter.get(key).catch(() => null);
      if (res === null) return { allowed: true, remaining: limiter.points, retryAfterSeconds: 0 };
      const allowed = res.consumedPoints < limiter.points;
      return {
        allowed,
        remaining: Math.max(0, limiter.points - res.consumedPoints),
        retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil(res.msBeforeNext / 1000)),
      };
    },
  };
}

/**
 * The server's `maxmemory-policy`, so the origin can warn at boot when the limits Redis may evict
 * keys (anything but `noeviction`). `'unknown'` when the server forbids or renamed `CONFIG`, as
 * managed Redis services often do.
 */
export async function checkRedisPolicy(redis: Redis): Promise<string> {
  try {
    const reply = (await redis.config('GET', 'maxmemory-policy')) as unknown;
    if (Array.isArray(reply) && typeof reply[1] === 'string') return reply[1];
    return 'unknown';
  } catch {
    return 'unknown';
  }
}
