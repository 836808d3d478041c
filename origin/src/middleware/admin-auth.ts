import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { bearerToken, CSRF_HEADER } from '../admin/bearer.js';
import { type AdminSessions, SESSION_COOKIE } from '../admin/session.js';
import type { AppEnv } from '../app-env.js';
import { AppError } from '../errors.js';
import { sameSecret } from '../lib/client-ip.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Requires the admin: `Authorization: Bearer <admin token>` (missing → 401, wrong → 403), or the
 * console's session cookie. A cookie-borne request that changes something must also carry
 * `X-Ragedge-Console` and must not come from another site: a page elsewhere cannot add that
 * header without a CORS preflight this origin never grants, and the cookie is SameSite=Strict.
 * Tokens are hashed before the comparison so that it is constant-time whatever the lengths.
 */
export function adminAuth(adminToken: string, sessions?: AdminSessions): MiddlewareHandler<AppEnv> {
  return async function adminAuth(c, next) {
    const header = c.req.header('authorization');
    if (header === undefined || header.trim() === '') {
      if (sessions !== undefined && (await sessionAdmin(c, sessions))) {
        c.set('access', 'admin');
        return next();
      }
      throw new AppError(
        'unauthorized',
        'this route needs the admin token: Authorization: Bearer <token>',
        {
          headers: { 'WWW-Authenticate': 'Bearer' },
        },
      );
    }
    const token = bearerToken(header);
    if (token === undefined || !sameSecret(token, adminToken)) {
      throw new AppError('forbidden', 'the admin token is not valid');
    }
    await next();
  };
}

/**
 * Whether the request carries a valid console session; throws 403 when it does but the request
 * changes something without the console's header or comes from another site.
 */
export async function sessionAdmin(c: Context, sessions: AdminSessions): Promise<boolean> {
  if (!(await sessions.verify(getCookie(c, SESSION_COOKIE)))) return false;
  const fetchSite = c.req.header('sec-fetch-site');
  const crossSite = fetchSite !== undefined && fetchSite !== 'same-origin' && fetchSite !== 'none';
  if (!SAFE_METHODS.has(c.req.method) && (crossSite || c.req.header(CSRF_HEADER) === undefined)) {
    throw new AppError('forbidden', 'a console request must come from the console itself');
  }
  return true;
}
