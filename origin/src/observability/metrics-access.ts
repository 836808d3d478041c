import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.js';
import { AppError } from '../errors.js';
import { hostAllowed } from '../lib/allowed-hosts.js';

/** What a request to `/metrics` shows about itself; the socket's peer, never a header. */
export interface MetricsRequest {
  /** The `Authorization` header, if any. */
  authorization: string | undefined;
  /** The TCP peer address of the connection (`socket.remoteAddress`). */
  peer: string | undefined;
  /** Names (lowercase) of the request's headers. */
  headerNames: readonly string[];
  /** Whether the `Host` header names this origin (`ALLOWED_HOSTS`); a rebound name does not. */
  hostAllowed?: boolean;
}

export type MetricsDecision =
  | { allowed: true; by: 'token' | 'loopback' }
  | { allowed: false; code: 'unauthorized' | 'forbidden'; reason: string };

/**
 * Headers a proxy adds. nginx on the VPS reaches the origin from 127.0.0.1, so a loopback peer
 * alone does not prove a local caller: a request that passed through any proxy is treated as
 * remote, whatever address the header claims.
 */
const PROXY_HEADERS = ['x-edge-secret', 'x-forwarded-for', 'x-real-ip', 'forwarded', 'x-client-ip'];

/**
 * Who may read `/metrics`: the admin token from anywhere; without it, only a direct caller on the
 * loopback interface (a local Prometheus, `curl` on the VPS). A wrong token is refused even from
 * loopback, and so is a request that came through the edge or another proxy without the token.
 */
export function decideMetricsAccess(request: MetricsRequest, adminToken: string): MetricsDecision {
  if (request.authorization !== undefined && request.authorization.trim() !== '') {
    const token = /^Bearer\s+(\S+)\s*$/i.exec(request.authorization)?.[1];
    if (token !== undefined && same(token, adminToken)) return { allowed: true, by: 'token' };
    return { allowed: false, code: 'forbidden', reason: 'the admin token is not valid' };
  }
  const proxied = PROXY_HEADERS.find((name) => request.headerNames.includes(name));
  if (proxied !== undefined) {
    return {
      allowed: false,
      code: 'forbidden',
      reason: 'metrics are not served through a proxy without the admin token',
    };
  }
  if (request.hostAllowed === false) {
    return {
      allowed: false,
      code: 'forbidden',
      reason: 'metrics are not served under that host name without the admin token',
    };
  }
  if (request.peer !== undefined && isLoopback(request.peer))
    return { allowed: true, by: 'loopback' };
  return {
    allowed: false,
    code: 'unauthorized',
    reason: 'metrics need the admin token (Authorization: Bearer <token>) or a loopback caller',
  };
}

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6 (`::ffff:127.0.0.1`). */
export function isLoopback(address: string): boolean {
  const v4 = address.toLowerCase().startsWith('::ffff:') ? address.slice(7) : address;
  return v4 === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/** The access rule of {@link decideMetricsAccess} as middleware over a Node socket. */
export function metricsAccess(
  adminToken: string,
  allowedHosts: readonly string[] = ['*'],
): MiddlewareHandler<AppEnv> {
  return async function metricsAccess(c, next) {
    const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)
      ?.incoming;
    const decision = decideMetricsAccess(
      {
        authorization: c.req.header('authorization'),
        peer: incoming?.socket?.remoteAddress,
        headerNames: [...c.req.raw.headers.keys()],
        hostAllowed: hostAllowed(new URL(c.req.url).host, allowedHosts),
      },
      adminToken,
    );
    if (!decision.allowed) {
      throw new AppError(
        decision.code,
        decision.reason,
        decision.code === 'unauthorized'
          ? { headers: { 'WWW-Authenticate': 'Bearer' } }
          : undefined,
      );
    }
    await next();
  };
}

function same(a: string, b: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(a), digest(b));
}
