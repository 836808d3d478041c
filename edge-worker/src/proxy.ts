import type { EdgeConfig, Env } from './env.js';
import { fallbackResponse, streamError } from './fallback.js';
import { withoutHopByHop } from './headers.js';
import { fetchFromOrigin, isGatewayFailure } from './origins.js';
import { guardEventStream } from './sse.js';

/** Needed by the deploy script and health checks even while the maintenance flag is set. */
export const HEALTH_PATH = '/api/v1/health';

/** The KV key the deploy script sets while the origin is being replaced. */
export const MAINTENANCE_KEY = 'maintenance';

export interface RequestScope {
  config: EdgeConfig;
  requestId: string;
  clientIp: string;
}

/** The flag as this isolate last read it. */
let flag: { on: boolean; readAt: number } | null = null;

/**
 * Whether the deploy script has put the product in maintenance. KV is read at most once per
 * `cacheMs` per isolate: a read costs milliseconds on every request otherwise, and KV itself
 * takes up to a minute to spread a change, so a few seconds more change nothing.
 */
export async function inMaintenance(env: Env, cacheMs: number): Promise<boolean> {
  const now = Date.now();
  if (flag !== null && now - flag.readAt < cacheMs) return flag.on;
  const on = (await env.FLAGS.get(MAINTENANCE_KEY)) !== null;
  flag = { on, readAt: now };
  return on;
}

/**
 * `/api/*`: to the origin and back, streamed. The maintenance flag, an unreachable or silent
 * origin and a gateway failure all give the reader the fallback fitting its request instead.
 */
export async function proxyApi(request: Request, env: Env, scope: RequestScope): Promise<Response> {
  const url = new URL(request.url);
  const isHealth = url.pathname === HEALTH_PATH;
  const { retryAfterSeconds, maintenanceCacheMs } = scope.config;
  if (!isHealth && (await inMaintenance(env, maintenanceCacheMs))) {
    return fallbackResponse(request, 'maintenance', scope.requestId, retryAfterSeconds);
  }
  const result = await fetchFromOrigin(request, url.pathname + url.search, scope);
  if (!result.ok) {
    return fallbackResponse(request, 'origin_unavailable', scope.requestId, retryAfterSeconds);
  }
  const origin = result.response;
  // Health reports its own 503 (database down) to the deploy script as it is.
  if (!isHealth && isGatewayFailure(origin.status)) {
    await origin.body?.cancel();
    return fallbackResponse(request, 'origin_unavailable', scope.requestId, retryAfterSeconds);
  }
  return relay(origin, retryAfterSeconds);
}

/**
 * The origin's response as the reader's: the body is passed on as a stream, never read whole.
 * (`X-Request-Id` is set on the way out, for every response, in `index.ts`.)
 */
export function relay(origin: Response, retryAfterSeconds: number): Response {
  const headers = withoutHopByHop(origin.headers);
  const isEventStream = (headers.get('Content-Type') ?? '').startsWith('text/event-stream');
  if (!isEventStream || origin.body === null) {
    return new Response(origin.body, { status: origin.status, headers });
  }
  // The guard may append an event, so the origin's length (if any) no longer holds.
  headers.delete('Content-Length');
  const body = guardEventStream(origin.body, () =>
    streamError('origin_unavailable', retryAfterSeconds),
  );
  return new Response(body, { status: origin.status, headers });
}
