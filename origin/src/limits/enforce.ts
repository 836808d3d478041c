import { AppError } from '../errors.js';
import type { RateLimitBucket, RateLimiter } from './rate-limiter.js';

/** Which budget refused: the client's address, the site, or the conversation. */
export type LimitScope = 'client' | 'site' | 'conversation';

/** The limiters in force: one budget per site, a tighter one per client and per conversation. */
export interface Limits {
  site: RateLimiter;
  client: RateLimiter;
  /** Told of every refusal, with the budget that refused (for metrics). */
  onRefused?: (scope: LimitScope, bucket: RateLimitBucket) => void;
}

/**
 * Readers (site-key access) spend budgets; the operator's admin token does not.
 *
 * Spends one point of `bucket` on the site, the client and (for chat) the conversation; the
 * first refusal is a 429 with `Retry-After`. The exact limits live here; the edge's are approximate.
 */
export async function enforceLimits(
  limits: Limits,
  bucket: RateLimitBucket,
  keys: { siteId: number; clientIp: string; conversationId?: string | undefined },
): Promise<void> {
  const checks: Array<[RateLimiter, string, string, LimitScope]> = [
    [limits.client, `ip:${keys.clientIp}`, 'you are asking too often', 'client'],
    [limits.site, `site:${keys.siteId}`, 'this site is receiving too many questions', 'site'],
  ];
  if (keys.conversationId !== undefined) {
    checks.push([
      limits.client,
      `conv:${keys.conversationId}`,
      'this conversation is asking too often',
      'conversation',
    ]);
  }
  for (const [limiter, key, reason, scope] of checks) {
    const decision = await limiter.consume(bucket, key);
    if (!decision.allowed) {
      limits.onRefused?.(scope, bucket);
      throw new AppError(
        'rate_limited',
        `${reason}; try again in ${decision.retryAfterSeconds} s`,
        {
          headers: { 'Retry-After': String(decision.retryAfterSeconds) },
        },
      );
    }
  }
}
