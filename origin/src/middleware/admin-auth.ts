import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../context.js';
import { AppError } from '../errors.js';

/**
 * Requires `Authorization: Bearer <admin token>`. Missing → 401, wrong → 403. Both sides are
 * hashed first so that the comparison is constant-time whatever the lengths.
 */
export function adminAuth(adminToken: string): MiddlewareHandler<AppEnv> {
  const expected = digest(adminToken);
  return async function adminAuth(c, next) {
    const header = c.req.header('authorization');
    if (header === undefined || header.trim() === '') {
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

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Whether `authorization` carries the admin token; for routes that show operators more. */
export function isAdmin(authorization: string | undefined, adminToken: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return match !== null && timingSafeEqual(digest(match[1]!), digest(adminToken));
}
