import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { z } from 'zod';
import { CSRF_HEADER } from '../../admin/bearer.js';
import { SESSION_COOKIE } from '../../admin/session.js';
import type { AppEnv } from '../../app-env.js';
import { AppError } from '../../errors.js';
import { readerKey } from '../../lib/client-ip.js';
import { parseWith, readJson } from '../../lib/validate.js';
import { enforceLimits } from '../../limits/enforce.js';
import type { Services } from '../../services.js';

const SignInBody = z.object({ token: z.string().min(1).max(512) }).strict();

/** Whether the browser reached us over HTTPS (directly, or through the edge / nginx). */
function overHttps(c: Context<AppEnv>): boolean {
  return (
    new URL(c.req.url).protocol === 'https:' ||
    c.req.header('x-forwarded-proto')?.split(',')[0]?.trim() === 'https'
  );
}

/** Refuses a console request that did not come from the console's own page. */
function fromConsole(c: Context<AppEnv>): void {
  const site = c.req.header('sec-fetch-site');
  if (c.req.header(CSRF_HEADER) === undefined || (site !== undefined && site !== 'same-origin')) {
    throw new AppError('forbidden', 'a console request must come from the console itself');
  }
}

/**
 * The console's sign-in: `POST /admin/session` exchanges the admin token for an HttpOnly,
 * SameSite=Strict session cookie with an expiry (the page never keeps the token);
 * `GET /admin/session` says whether the cookie is valid (`session: null` when not); `DELETE /admin/session` signs out.
 * Sign-in attempts spend a per-client budget, so the token cannot be guessed at speed.
 */
export function registerAdminSession(app: Hono<AppEnv>, services: Services): void {
  const { sessions } = services.operator;
  const expected = createHash('sha256').update(services.adminToken).digest();
  app.post('/admin/session', async (c) => {
    fromConsole(c);
    await enforceLimits(services.limits, 'other', {
      siteId: 0,
      clientKey: `signin:${readerKey(c, services.config)}`,
    });
    const { token } = parseWith(SignInBody, await readJson(c));
    if (!timingSafeEqual(createHash('sha256').update(token).digest(), expected)) {
      throw new AppError('forbidden', 'the admin token is not valid');
    }
    const session = sessions.issue();
    setCookie(c, SESSION_COOKIE, session.value, {
      httpOnly: true,
      sameSite: 'Strict',
      secure: overHttps(c),
      path: '/',
      expires: session.expires,
    });
    return c.json({ session: { expiresAt: session.expires.toISOString() } });
  });
  // Not signed in is an answer here, not an error: the console asks this on every load.
  app.get('/admin/session', async (c) => {
    const value = getCookie(c, SESSION_COOKIE);
    c.header('Cache-Control', 'no-store');
    if (!(await sessions.verify(value))) return c.json({ session: null });
    const expiresAt = new Date(Number(value!.split('.')[0])).toISOString();
    return c.json({ session: { expiresAt } });
  });
  app.delete('/admin/session', async (c) => {
    fromConsole(c);
    const value = getCookie(c, SESSION_COOKIE);
    if (value !== undefined && (await sessions.verify(value))) await sessions.revoke(value);
    deleteCookie(c, SESSION_COOKIE, { path: '/', secure: overHttps(c) });
    return c.body(null, 204);
  });
}
