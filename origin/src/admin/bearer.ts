import { sameSecret } from '../lib/client-ip.js';

/** The header the console sends with every request that changes something (see `adminAuth`). */
export const CSRF_HEADER = 'x-ragedge-console';

/** The token of an `Authorization: Bearer <token>` header, if it is one. */
export function bearerToken(authorization: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
}

/** Whether `authorization` carries the admin token; for routes that show operators more. */
export function isAdmin(authorization: string | undefined, adminToken: string): boolean {
  const token = bearerToken(authorization);
  return token !== undefined && sameSecret(token, adminToken);
}
