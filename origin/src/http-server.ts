import type { Server } from 'node:http';

/**
 * Longer than any proxy's idle keep-alive in front of the origin (nginx's upstream
 * `keepalive_timeout` is 60 s): the proxy, not the origin, must be the one to close an idle
 * connection, or a request it sends just as the origin closes it fails with a reset (a 502 for
 * a POST, which nginx does not retry).
 */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

/** Keep-alive settings for the origin's HTTP server; headers must be allowed a little longer. */
export function configureHttpServer(
  server: Pick<Server, 'keepAliveTimeout' | 'headersTimeout'>,
): void {
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1_000;
}
