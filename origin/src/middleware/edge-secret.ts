import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.js';
import { AppError } from '../errors.js';
import { EDGE_SECRET_HEADER, sameSecret } from '../lib/client-ip.js';

/**
 * Paths that answer without the edge's secret: the health check (the deploy script and the
 * container health check call it on the machine itself) and `/metrics` (loopback or admin only,
 * by its own rule; the edge never forwards it).
 */
const WITHOUT_SECRET = new Set(['/api/v1/health', '/metrics']);

/**
 * When the origin has an `EDGE_SHARED_SECRET`, only the edge Worker may talk to it: any other
 * request (someone who found the VPS's address) is refused with 403 before it costs any work.
 * Without a secret (development, tests) every request passes.
 */
export function edgeSecret(secret: string | undefined): MiddlewareHandler<AppEnv> {
  return async function edgeSecretCheck(c, next) {
    if (secret === undefined || WITHOUT_SECRET.has(c.req.path)) return next();
    const sent = c.req.header(EDGE_SECRET_HEADER);
    if (sent === undefined || !sameSecret(sent, secret)) {
      throw new AppError('forbidden', 'requests must come through the edge');
    }
    return next();
  };
}
