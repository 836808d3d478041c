import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { AppEnv } from '../app-env.js';
import type { Metrics } from './metrics.js';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * Counts and times every request by method, route pattern and status. Labels come from the
 * routes the code registers, never from the raw path, so a scan of random URLs adds no series.
 */
export function httpMetrics(metrics: Metrics): MiddlewareHandler<AppEnv> {
  return async function httpMetrics(c, next) {
    const stop = metrics.httpDuration.startTimer();
    try {
      await next();
    } finally {
      const labels = {
        method: METHODS.has(c.req.method) ? c.req.method : 'other',
        route: routeLabel(c),
        status: String(c.res.status),
      };
      stop(labels);
      metrics.httpRequests.inc(labels);
    }
  };
}

/**
 * The endpoint's pattern (`/api/v1/sites/:site/chat`), even when a middleware answered before it
 * (401, 429); a middleware's pattern when only middleware matched (a CORS preflight); else
 * `unmatched`.
 */
export function routeLabel(c: Context): string {
  const routes = matchedRoutes(c);
  const endpoint = routes.findLast((route) => route.method !== 'ALL');
  if (endpoint !== undefined) return endpoint.path;
  if (c.res.status === 404) return 'unmatched';
  return routes.findLast((route) => route.path !== '*' && route.path !== '/*')?.path ?? 'unmatched';
}
