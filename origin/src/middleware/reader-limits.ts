import type { Context, MiddlewareHandler } from 'hono';
import type { ReaderEnv } from '../app-env.js';
import type { Config } from '../config.js';
import { readerKey } from '../lib/client-ip.js';
import { checkClientBudget, enforceLimits, type Limits } from '../limits/enforce.js';
import type { RateLimitBucket } from '../limits/rate-limiter.js';

/**
 * A reader route's rate limits, after `readerAccess`. Readers (site-key access) spend budgets;
 * the admin does not. A client already over its budget is refused here, before its body is read
 * (`checkFirst`, on by default), without spending a point; the handler spends the client's, the
 * site's and (for chat) the conversation's budgets through `budgetOf(c)` once the request is
 * known to be valid, so that a request refused for what it is never spends a site's budget.
 */
export function readerLimits(options: {
  limits: Limits;
  config: Pick<Config, 'EDGE_SHARED_SECRET' | 'trustedProxies'>;
  /** The budget a request spends: one bucket, or chosen from the request. */
  bucket: RateLimitBucket | ((c: Context<ReaderEnv>) => RateLimitBucket);
  /** Refuse a client over its budget before the handler runs (default true). */
  checkFirst?: boolean;
}): MiddlewareHandler<ReaderEnv> {
  const { limits, config } = options;
  return async function readerLimits(c, next) {
    if (c.get('access') === 'admin') {
      c.set('spendBudget', async () => {});
      return next();
    }
    const bucket = typeof options.bucket === 'function' ? options.bucket(c) : options.bucket;
    const clientKey = readerKey(c, config);
    if (options.checkFirst !== false) await checkClientBudget(limits, bucket, clientKey);
    const siteId = c.get('site').id;
    c.set('spendBudget', (conversationId) =>
      enforceLimits(limits, bucket, { siteId, clientKey, conversationId }),
    );
    return next();
  };
}
