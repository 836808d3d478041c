import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { type AdminSessions, SESSION_COOKIE } from '../admin/session.js';
import type { AppEnv } from '../context.js';
import { AppError } from '../errors.js';

/** The header the console sends with every request that changes something (see `adminAuth`). */
export const CSRF_HEADER = 'x-ragedge-console';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Requires the admin: `Authorization: Bearer <admin token>` (missing → 401, wrong → 403), or the
 * console's session cookie. A cookie-borne request that changes something must also carry
 * `X-Ragedge-Console` and must not come from another site: a page elsewhere cannot add that
 * header without a CORS preflight this origin never grants, and the cookie is SameSite=Strict.
 * Tokens are hashed before the comparison so that it is constant-time whatever the lengths.
 */
export function adminAuth(adminToken: string, sessions?: AdminSessions): MiddlewareHandler<AppEnv> {
  const expected = digest(adminToken);
  return async function adminAuth(c, next) {
    const header = c.req.header('authorization');
    if (header === undefined || header.trim() === '') {
      if (sessions !== undefined && sessionAdmin(c, sessions)) return next();
      throw new AppError(
        'unauthorized',
        'this route needs the admin token: Authorization: Bearer <token>',
        {
          headers: { 'WWW-Authenticate': 'Bearer' },
        },
      );
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match === null || !timingSafeEqual(digest(match[1]!), expected)) {
      throw new AppError('forbidden', 'the admin token is not valid');
    }
    await next();
  };
}

/**
 * Whether the request carries a valid console session; throws 403 when it does but the request
 * changes something without the console's header or comes from another site.
 */
export function sessionAdmin(c: Context<AppEnv>, sessions: AdminSessions): boolean {
  if (!sessions.verify(getCookie(c, SESSION_COOKIE))) return false;
  const fetchSite = c.req.header('sec-fetch-site');
  const crossSite = fetchSite !== undefined && fetchSite !== 'same-origin' && fetchSite !== 'none';
  if (!SAFE_METHODS.has(c.req.method) && (crossSite || c.req.header(CSRF_HEADER) === undefined)) {
    throw new AppError('forbidden', 'a console request must come from the console itself');
  }
  c.set('access', 'admin');
  return true;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Whether `authorization` carries the admin token; for routes that show operators more. */
export function isAdmin(authorization: string | undefined, adminToken: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return match !== null && timingSafeEqual(digest(match[1]!), digest(adminToken));
}
