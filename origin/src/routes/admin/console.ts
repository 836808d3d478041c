import { resolve } from 'node:path';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Hono } from 'hono';
import type { AppEnv } from '../../app-env.js';
import { AppError } from '../../errors.js';
import type { Services } from '../../services.js';

/**
 * The console's policy: its own script, style and API only; no inline code, no frames, no
 * forms posting elsewhere. The bundle holds no secret: everything comes from the API once the
 * session cookie is set.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  // The console never parses HTML from strings: with Trusted Types required, a sink that would is an error.
  "require-trusted-types-for 'script'",
].join('; ');

const FILES = new Set(['admin.js', 'admin.css']);

/**
 * `GET /admin`: the admin console built by `web/build.mjs` into `ADMIN_DIR` (one page with hash
 * routes, its script and its style). Anyone may load the page, which holds nothing but the
 * sign-in form until the API, behind the session, answers.
 */
export function registerConsole(app: Hono<AppEnv>, services: Services): void {
  const root = resolve(services.config.ADMIN_DIR);
  const none = async () => {};
  const serve = (path: string) => serveStatic<AppEnv>({ root, path });
  app.get('/admin', (c) => c.redirect('/admin/', 308));
  app.get('/admin/:file{[a-z.]*}', async (c) => {
    const file = c.req.param('file') || 'index.html';
    if (file !== 'index.html' && !FILES.has(file)) throw new AppError('not_found', 'no such page');
    const response = await serve(file)(c, none);
    if (!(response instanceof Response)) {
      throw new AppError(
        'not_found',
        'the console has not been built on this server; run `node web/build.mjs`',
      );
    }
    response.headers.set('X-Content-Type-Options', 'nosniff');
    response.headers.set('Referrer-Policy', 'no-referrer');
    response.headers.set('Cache-Control', 'no-cache');
    if (file === 'index.html') {
      response.headers.set('Content-Security-Policy', CONSOLE_CSP);
      response.headers.set('X-Frame-Options', 'DENY');
      response.headers.set('Cross-Origin-Opener-Policy', 'same-origin');
    }
    return response;
  });
}
