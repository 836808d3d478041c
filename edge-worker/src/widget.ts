import { errorResponse } from './errors.js';
import { fallbackResponse } from './fallback.js';
import { fetchFromOrigin } from './origins.js';
import type { RequestScope } from './proxy.js';

/** A version the origin vouches for (`immutable`) never changes: kept for a year. */
const IMMUTABLE_SECONDS = 365 * 24 * 3600;
/** The unversioned name (or a version the origin does not know) follows releases. */
const SHORT_FRESH_SECONDS = 300;
/** How long the edge keeps a short-lived copy to serve while the origin is down. */
const KEPT_SECONDS = 7 * 24 * 3600;

const VERSION = /^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$/;
const STORED_AT = 'X-Edge-Stored-At';
const FRESH_FOR = 'X-Edge-Fresh-For';
/** The origin's headers that describe the file itself; the rest is decided here. */
const KEPT_HEADERS = ['Content-Type', 'ETag', 'Last-Modified', 'Access-Control-Allow-Origin'];

/**
 * `GET /widget.js[?v=<version>]` from the edge cache, filled from the origin's `GET /widget.js`.
 * Only `v` counts in the cache key. A versioned copy is kept a year when the origin marks it
 * `immutable` (the version is its current build), otherwise five minutes like the unversioned
 * name. A fresh copy is a `HIT`; otherwise the origin is asked (`MISS`), and if it is down or
 * failing a stale copy is still served (`STALE`). Only a 200 without `Set-Cookie` is kept.
 */
export async function serveWidget(
  request: Request,
  ctx: ExecutionContext,
  scope: RequestScope,
): Promise<Response> {
  const version = new URL(request.url).searchParams.get('v');
  if (version !== null && !VERSION.test(version)) {
    return errorResponse(400, 'bad_request', 'v must be a version like 1.2.3', scope.requestId);
  }
  const path = version === null ? '/widget.js' : `/widget.js?v=${version}`;
  const key = new Request(new URL(path, request.url).href, { method: 'GET' });
  const cache = caches.default;
  const cached = await cache.match(key);
  if (cached !== undefined && isFresh(cached)) return forReader(cached, 'HIT');

  const result = await fetchFromOrigin(
    new Request(request.url, { headers: { Accept: '*/*' } }),
    path,
    scope,
  );
  const origin = result.ok ? result.response : null;
  if (origin === null || origin.status >= 500) {
    await origin?.body?.cancel();
    if (cached !== undefined) return forReader(cached, 'STALE');
    return fallbackResponse(
      request,
      'origin_unavailable',
      scope.requestId,
      scope.config.retryAfterSeconds,
    );
  }
  if (origin.status !== 200 || origin.headers.has('Set-Cookie')) {
    const passed = new Response(origin.body, origin);
    passed.headers.delete('Set-Cookie');
    passed.headers.set('X-Cache', 'MISS');
    passed.headers.set('Cache-Control', 'no-store');
    return passed;
  }
  const immutable =
    version !== null && /\bimmutable\b/.test(origin.headers.get('Cache-Control') ?? '');
  const freshSeconds = immutable ? IMMUTABLE_SECONDS : SHORT_FRESH_SECONDS;
  const headers = new Headers();
  for (const name of KEPT_HEADERS) {
    const value = origin.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  if (!headers.has('Content-Type')) headers.set('Content-Type', 'text/javascript; charset=utf-8');
  headers.set('Cache-Control', `public, max-age=${immutable ? IMMUTABLE_SECONDS : KEPT_SECONDS}`);
  headers.set(STORED_AT, String(Date.now()));
  headers.set(FRESH_FOR, String(freshSeconds));
  const stored = new Response(origin.body, { status: 200, headers });
  ctx.waitUntil(cache.put(key, stored.clone()));
  return forReader(stored, 'MISS');
}

function isFresh(response: Response): boolean {
  const storedAt = Number(response.headers.get(STORED_AT));
  const freshFor = Number(response.headers.get(FRESH_FOR));
  return Number.isFinite(storedAt) && (Date.now() - storedAt) / 1000 < freshFor;
}

function forReader(response: Response, state: 'HIT' | 'MISS' | 'STALE'): Response {
  const freshFor = Number(response.headers.get(FRESH_FOR));
  const out = new Response(response.body, response);
  out.headers.delete(STORED_AT);
  out.headers.delete(FRESH_FOR);
  out.headers.set('X-Cache', state);
  out.headers.set(
    'Cache-Control',
    freshFor >= IMMUTABLE_SECONDS
      ? `public, max-age=${IMMUTABLE_SECONDS}, immutable`
      : `public, max-age=${SHORT_FRESH_SECONDS}`,
  );
  // Third-party pages load it with a <script> tag.
  out.headers.set('Cross-Origin-Resource-Policy', 'cross-origin');
  return out;
}
