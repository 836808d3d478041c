import type { Env } from './env.js';
import { errorResponse } from './errors.js';

/** The period of every `[[ratelimits]]` binding in wrangler.toml, in seconds. */
const PERIOD_SECONDS = 10;

const CHAT_ROUTE = /^\/api\/v1\/sites\/[^/]+\/chat$/;
const SEARCH_ROUTE = /^\/api\/v1\/sites\/[^/]+\/search$/;

/** The budget a path counts against: chat, search, or everything else. */
export function limiterFor(env: Env, path: string): RateLimit {
  if (CHAT_ROUTE.test(path)) return env.CHAT_LIMITER;
  if (SEARCH_ROUTE.test(path)) return env.SEARCH_LIMITER;
  return env.API_LIMITER;
}

/**
 * Counts the request against its budget, keyed by site key and client IP, and returns the 429
 * to send when it is over (or `null`). The binding is approximate and per location; the origin
 * keeps the exact limits, this one keeps floods off the VPS.
 */
export async function rateLimit(
  env: Env,
  request: Request,
  clientIp: string,
  requestId: string,
): Promise<Response | null> {
  const path = new URL(request.url).pathname;
  const siteKey = (request.headers.get('X-Site-Key') ?? '-').slice(0, 128);
  const { success } = await limiterFor(env, path).limit({ key: `${siteKey}|${clientIp}` });
  if (success) return null;
  return errorResponse(
    429,
    'rate_limited',
    'too many requests; wait a few seconds and try again',
    requestId,
    { 'Retry-After': String(PERIOD_SECONDS) },
  );
}
