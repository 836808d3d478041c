import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';

/** The header the edge Worker sets to the reader's address (from `CF-Connecting-IP`). */
export const CLIENT_IP_HEADER = 'x-client-ip';
/** The header that carries the edge's shared secret. */
export const EDGE_SECRET_HEADER = 'x-edge-secret';

/**
 * The reader's address: the edge's `X-Client-IP` when the request carries the edge's shared
 * secret (anyone else could forge it), else the socket's peer address.
 */
export function clientIp(c: Context, edgeSecret: string | undefined): string {
  const sent = c.req.header(EDGE_SECRET_HEADER);
  const forwarded = c.req.header(CLIENT_IP_HEADER);
  if (
    edgeSecret !== undefined &&
    sent !== undefined &&
    forwarded !== undefined &&
    sameSecret(sent, edgeSecret)
  ) {
    return forwarded.slice(0, 64);
  }
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)
    ?.incoming;
  return incoming?.socket?.remoteAddress ?? 'unknown';
}

/** Compares secrets in constant time (their digests, so that lengths do not leak either). */
export function sameSecret(a: string, b: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(a), digest(b));
}
