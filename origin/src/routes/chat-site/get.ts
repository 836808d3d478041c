import { resolve } from 'node:path';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Hono } from 'hono';
import type { AppEnv } from '../../app-env.js';
import type { Config } from '../../config.js';
import type { Services } from '../../services.js';

/**
 * The chat site's policy when the origin serves it itself: its own scripts, styles and API only.
 * In production the edge serves the site and sets its own headers (edge-worker/src/headers.ts).
 */
const SITE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Whether this origin serves the chat site: `SERVE_SITE=auto` serves it unless an edge stands in
 * front (an edge secret is configured), since the edge then serves the site from its assets.
 */
export function siteServed(config: Config): boolean {
  return config.SERVE_SITE === 'auto'
    ? config.EDGE_SHARED_SECRET === undefined
    : config.SERVE_SITE === 'true';
}

/** Paths that belong to the API or the widget, never to the site's single-page fallback. */
const NOT_SITE = /^\/(api|metrics|widget\.js)(\/|$)/;

/**
 * The chat site (built by `web/build.mjs` into `SITE_DIR`) for the embedded default, where no edge
 * stands in front of the origin: `npm start` alone gives a working chat. Files are served as they
 * are; any other page path falls back to `index.html`, as the edge's assets binding does.
 */
export function registerChatSite(app: Hono<AppEnv>, services: Services): void {
  if (!siteServed(services.config)) return;
  const root = resolve(services.config.SITE_DIR);
  const files = serveStatic<AppEnv>({ root });
  const index = serveStatic<AppEnv>({ root, path: 'index.html' });
  const none = async () => {};
  app.get('*', async (c, next) => {
    if (NOT_SITE.test(c.req.path)) return next();
    const response = (await files(c, none)) ?? (await index(c, none));
    if (!(response instanceof Response)) return next();
    response.headers.set('X-Content-Type-Options', 'nosniff');
    response.headers.set('Referrer-Policy', 'strict-origin-when-cross-origin');
    if ((response.headers.get('Content-Type') ?? '').startsWith('text/html')) {
      response.headers.set('Content-Security-Policy', SITE_CSP);
      response.headers.set('X-Frame-Options', 'DENY');
      response.headers.set('Cache-Control', 'no-cache');
    }
    return response;
  });
}
