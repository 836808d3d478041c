import ipaddr from 'ipaddr.js';
import type { Env } from './env.js';
import { errorResponse } from './errors.js';

/** The period of every `[[ratelimits]]` binding in wrangler.toml, in seconds. */
const PERIOD_SECONDS = 10;

const CHAT_ROUTE = /^\/api\/v1\/sites\/[^/]+\/chat$/;
const SEARCH_ROUTE = /^\/api\/v1\/sites\/[^/]+\/search$/;

/**
 * The budget a path counts against: chat, search, or everything else. The path is classified as
 * the origin will route it, percent-decoded (`/%63hat` is the chat route there), and as sent:
 * a path that is chat either way pays the chat budget.
 */
export function limiterFor(env: Env, path: string): RateLimit {
  const forms = [path, decoded(path)];
  if (forms.some((form) => CHAT_ROUTE.test(form))) return env.CHAT_LIMITER;
  if (forms.some((form) => SEARCH_ROUTE.test(form))) return env.SEARCH_LIMITER;
  return env.API_LIMITER;
}

function decoded(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/**
 * The key of one client's budget: its address, an IPv6 address by its /64 (which one subscriber
 * can rotate through), never anything the client chooses (a site key made up per request would
 * get a fresh budget each time).
 */
export function clientBudgetKey(address: string): string {
  if (!ipaddr.isValid(address)) return `raw:${address.slice(0, 64)}`;
  const parsed = ipaddr.process(address);
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const prefix = (parsed as ipaddr.IPv6).parts.slice(0, 4).map((part) => part.toString(16));
  return `${prefix.join(':')}::/64`;
}

/**
 * Counts the request against its budget, keyed by the client's address, and returns the 429 to
 * send when it is over (or `null`). The binding is approximate and per location; the origin
 * keeps the exact limits, this one keeps floods off the VPS.
 */
export async function rateLimit(
  env: Env,
  request: Request,
  clientIp: string,
  requestId: string,
): Promise<Response | null> {
  const path = new URL(request.url).pathname;
  const { success } = await limiterFor(env, path).limit({ key: clientBudgetKey(clientIp) });
  if (success) return null;
  return errorResponse(
    429,
    'rate_limited',
    'too many requests; wait a few seconds and try again',
    requestId,
    { 'Retry-After': String(PERIOD_SECONDS) },
  );
}
