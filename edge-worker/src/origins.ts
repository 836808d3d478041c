import type { EdgeConfig } from './env.js';
import { withoutHopByHop } from './headers.js';

/** How long an origin that refused a connection is tried last. */
const DOWN_FOR_MS = 10_000;
/** Request bodies up to this size are kept in memory so a failed connection can be retried. */
export const REPLAYABLE_BODY_BYTES = 64 * 1024;

/** Statuses that mean "the origin (or the path to it) is down", Cloudflare's 52x included. */
export function isGatewayFailure(status: number): boolean {
  return status === 502 || status === 503 || status === 504 || (status >= 520 && status <= 527);
}

/** Origins that refused a connection lately, by origin; bounded by the number of origins. */
const downUntil = new Map<string, number>();
let turn = 0;

/** The origins in the order to try: round-robin among the healthy, then the recently failed. */
export function originOrder(origins: readonly URL[], now = Date.now()): URL[] {
  turn = (turn + 1) % origins.length;
  const rotated = [...origins.slice(turn), ...origins.slice(0, turn)];
  const healthy = rotated.filter((origin) => (downUntil.get(origin.href) ?? 0) <= now);
  const down = rotated.filter((origin) => (downUntil.get(origin.href) ?? 0) > now);
  return [...healthy, ...down];
}

export type OriginResult =
  | { ok: true; response: Response }
  | { ok: false; reason: 'unreachable' | 'timeout' };

export interface ForwardContext {
  config: EdgeConfig;
  requestId: string;
  clientIp: string;
}

/**
 * Sends `request` to an origin at `pathAndQuery` and returns its response as soon as the headers
 * arrive; the body is never read here. On a connection failure it moves to the next origin,
 * but only when the request body can be sent again: requests without a body, and bodies up to
 * `REPLAYABLE_BODY_BYTES` (chat, search) which are read into memory for that; larger bodies
 * (uploads) are streamed through and get one attempt. A timeout before the headers is not
 * retried: the origin may be working on the request. A resume (`Last-Event-ID`) that an origin
 * answers with "unknown stream" goes on to the next origin, which may be the one producing it.
 */
export async function fetchFromOrigin(
  request: Request,
  pathAndQuery: string,
  context: ForwardContext,
): Promise<OriginResult> {
  const { config } = context;
  const headers = forwardHeaders(request.headers, context);
  const body = await replayableBody(request);
  const order = originOrder(config.origins);
  let reason: 'unreachable' | 'timeout' = 'unreachable';
  for (const origin of order) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), config.timeoutMs);
    try {
      const response = await fetch(new URL(pathAndQuery, origin), {
        method: request.method,
        headers,
        body: body.kind === 'stream' ? request.body : body.bytes,
        redirect: 'manual',
        signal: controller.signal,
      });
      downUntil.delete(origin.href);
      // A resumed answer lives in the memory of the origin that produced it: when this origin
      // does not hold it, ask the others (the small chat body can be sent again).
      const elsewhere =
        response.status === 404 && response.headers.get('X-Resume') === 'unknown-stream';
      if (elsewhere && body.kind === 'bytes' && origin !== order.at(-1)) {
        await response.body?.cancel();
        continue;
      }
      return { ok: true, response };
    } catch {
      if (controller.signal.aborted) return { ok: false, reason: 'timeout' };
      downUntil.set(origin.href, Date.now() + DOWN_FOR_MS);
      reason = 'unreachable';
      if (body.kind === 'stream') break;
    } finally {
      clearTimeout(timer);
    }
  }
  return { ok: false, reason };
}

type Body = { kind: 'bytes'; bytes: ArrayBuffer | null } | { kind: 'stream' };

async function replayableBody(request: Request): Promise<Body> {
  if (request.body === null || request.method === 'GET' || request.method === 'HEAD') {
    return { kind: 'bytes', bytes: null };
  }
  const length = Number(request.headers.get('Content-Length') ?? Number.NaN);
  if (Number.isFinite(length) && length <= REPLAYABLE_BODY_BYTES) {
    return { kind: 'bytes', bytes: await request.arrayBuffer() };
  }
  return { kind: 'stream' };
}

/** The client's headers for the origin: hop-by-hop dropped, the edge's own headers set. */
function forwardHeaders(incoming: Headers, context: ForwardContext): Headers {
  const headers = withoutHopByHop(incoming);
  headers.delete('host');
  headers.set('X-Edge-Secret', context.config.secret);
  headers.set('X-Client-IP', context.clientIp);
  headers.set('X-Request-Id', context.requestId);
  return headers;
}
