import { AppError } from '../errors.js';
import type { RateLimitBucket, RateLimitDecision, RateLimiter } from './rate-limiter.js';

/** Which budget refused: the client's address, the site, or the conversation. */
export type LimitScope = 'client' | 'site' | 'conversation';

/** The limiters in force: one budget per site, a tighter one per client and per conversation. */
export interface Limits {
  site: RateLimiter;
  client: RateLimiter;
  /** Told of every refusal, with the budget that refused (for metrics). */
  onRefused?: (scope: LimitScope, bucket: RateLimitBucket) => void;
}

const REASONS: Record<LimitScope, string> = {
  client: 'you are asking too often',
  site: 'this site is receiving too many questions',
  conversation: 'this conversation is asking too often',
};

/**
 * Refuses a client already over its budget before its request costs anything (its body is not
 * even read), without spending a point: only work done spends (see {@link enforceLimits}).
 * `clientKey` is the client's key (`clientKey()`: an IPv6 client by its /64).
 */
export async function checkClientBudget(
  limits: Limits,
  bucket: RateLimitBucket,
  clientKey: string,
): Promise<void> {
  const decision = await limits.client.peek(bucket, `ip:${clientKey}`);
  if (!decision.allowed) refuse(limits, 'client', bucket, decision);
}

/**
 * Readers (site-key access) spend budgets; the operator's admin token does not. Called once the
 * request is known to be valid and about to do its work, so that requests refused for what they
 * are (a bad body, an unknown conversation) never spend a site's budget.
 *
 * Spends one point of `bucket` on the client, the site and (for chat) the conversation; the
 * first refusal is a 429 with `Retry-After`, and the budgets after it are not spent. The client
 * goes first: a client over its own budget cannot spend the site's. The exact limits live here;
 * the edge's are approximate.
 */
export async function enforceLimits(
  limits: Limits,
  bucket: RateLimitBucket,
  keys: { siteId: number; clientKey: string; conversationId?: string | undefined },
): Promise<void> {
  const checks: Array<[RateLimiter, string, LimitScope]> = [
    [limits.client, `ip:${keys.clientKey}`, 'client'],
    [limits.site, `site:${keys.siteId}`, 'site'],
  ];
  if (keys.conversationId !== undefined) {
    checks.push([limits.client, `conv:${keys.conversationId}`, 'conversation']);
  }
  for (const [limiter, key, scope] of checks) {
    const decision = await limiter.consume(bucket, key);
    if (!decision.allowed) refuse(limits, scope, bucket, decision);
  }
}

function refuse(
  limits: Limits,
  scope: LimitScope,
  bucket: RateLimitBucket,
  decision: RateLimitDecision,
): never {
  limits.onRefused?.(scope, bucket);
  throw new AppError(
    'rate_limited',
    `${REASONS[scope]}; try again in ${decision.retryAfterSeconds} s`,
    { headers: { 'Retry-After': String(decision.retryAfterSeconds) } },
  );
}
