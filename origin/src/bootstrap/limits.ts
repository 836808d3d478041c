import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import type { LimitScope, Limits } from '../limits/enforce.js';
import { createRateLimiter, type RateLimitBucket } from '../limits/rate-limiter.js';
import type { Metrics } from '../observability/metrics.js';

/** The configuration rate limiting takes. */
export type LimitsConfig = Pick<
  Config,
  | 'REDIS_KEY_PREFIX'
  | 'RATE_LIMIT_CLIENT_SHARE_PERCENT'
  | 'RATE_LIMIT_CHAT_PER_MINUTE'
  | 'RATE_LIMIT_SITE_CHAT_PER_MINUTE'
  | 'RATE_LIMIT_SEARCH_PER_MINUTE'
  | 'RATE_LIMIT_RESUME_PER_MINUTE'
>;

/** Per-client and per-site budgets, in Redis when one is configured (shared by every origin). */
export function buildLimits(
  config: LimitsConfig,
  deps: { redis: Redis | null; metrics: Metrics },
): Limits {
  const redis = deps.redis ?? undefined;
  const perMinute = (points: number) => ({ points, durationSeconds: 60 });
  // One client never spends more than its share of a site's budget, whatever its own says.
  const share = (own: number, site: number) =>
    Math.max(1, Math.min(own, Math.floor((site * config.RATE_LIMIT_CLIENT_SHARE_PERCENT) / 100)));
  return {
    client: createRateLimiter({
      redis,
      keyPrefix: `${config.REDIS_KEY_PREFIX}rl:client`,
      budgets: {
        chat: perMinute(
          share(config.RATE_LIMIT_CHAT_PER_MINUTE, config.RATE_LIMIT_SITE_CHAT_PER_MINUTE),
        ),
        search: perMinute(
          share(config.RATE_LIMIT_SEARCH_PER_MINUTE, config.RATE_LIMIT_SITE_CHAT_PER_MINUTE * 3),
        ),
        resume: perMinute(config.RATE_LIMIT_RESUME_PER_MINUTE),
        other: perMinute(300),
      },
    }),
    site: createRateLimiter({
      redis,
      keyPrefix: `${config.REDIS_KEY_PREFIX}rl:site`,
      budgets: {
        chat: perMinute(config.RATE_LIMIT_SITE_CHAT_PER_MINUTE),
        search: perMinute(config.RATE_LIMIT_SITE_CHAT_PER_MINUTE * 3),
        resume: perMinute(config.RATE_LIMIT_SITE_CHAT_PER_MINUTE * 3),
        other: perMinute(3000),
      },
    }),
    onRefused: (scope: LimitScope, bucket: RateLimitBucket) =>
      deps.metrics.rateLimitRefusals.inc({ scope, bucket }),
  };
}
