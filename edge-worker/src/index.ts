import { type IRequest, Router } from 'itty-router';
import { preflight, READER_ROUTE, readableByPage } from './cors.js';
import { type EdgeConfig, EdgeConfigError, type Env, edgeConfig } from './env.js';
import { errorResponse } from './errors.js';
import { withSecurityHeaders } from './headers.js';
import { proxyApi, type RequestScope } from './proxy.js';
import { rateLimit } from './rate-limit.js';
import { serveWidget } from './widget.js';

type EdgeRequest = IRequest & { scope: RequestScope };
type Args = [Env, ExecutionContext];

/** A client's id is kept when it looks like one the origin would keep too. */
const SANE_REQUEST_ID = /^[\w=-]{1,128}$/;

/** Gives every request its id, client IP and the parsed configuration. */
function withScope(request: EdgeRequest, env: Env): void {
  const sent = request.headers.get('X-Request-Id');
  const requestId = sent !== null && SANE_REQUEST_ID.test(sent) ? sent : crypto.randomUUID();
  const clientIp = request.headers.get('CF-Connecting-IP') ?? 'unknown';
  // Assigned before parsing, so that a configuration error is still answered with the id.
  request.scope = { requestId, clientIp, config: undefined as unknown as EdgeConfig };
  request.scope.config = edgeConfig(env);
}

function onError(error: unknown, request: IRequest): Response {
  const requestId = (request as Partial<EdgeRequest>).scope?.requestId ?? crypto.randomUUID();
  if (error instanceof EdgeConfigError) console.error(error.message);
  else console.error('unhandled error', requestId, error);
  return errorResponse(500, 'internal', 'something went wrong at the edge', requestId);
}

function finish(response: Response, request: EdgeRequest): Response {
  const out = withSecurityHeaders(response);
  if (request.scope !== undefined) out.headers.set('X-Request-Id', request.scope.requestId);
  readableByPage(request, out);
  return out;
}

/** The chat site; any path that is no file is the single-page app's `index.html`. */
async function serveSite(request: EdgeRequest, env: Env): Promise<Response> {
  if (env.ASSETS === undefined) {
    return errorResponse(404, 'not_found', 'no such page', request.scope.requestId);
  }
  return env.ASSETS.fetch(request);
}

const router = Router<EdgeRequest, Args>({
  before: [withScope],
  catch: onError,
  finally: [finish],
});

router
  // The origin's Prometheus endpoint is for the VPS's own scraper only.
  .all('/metrics', (request) =>
    errorResponse(404, 'not_found', 'no such page', request.scope.requestId),
  )
  .all('/metrics/*', (request) =>
    errorResponse(404, 'not_found', 'no such page', request.scope.requestId),
  )
  .get('/widget.js', async (request, env, ctx) => {
    const limited = await rateLimit(env, request, request.scope.clientIp, request.scope.requestId);
    return limited ?? serveWidget(request, ctx, request.scope);
  })
  .options('/api/*', (request) =>
    READER_ROUTE.test(new URL(request.url).pathname) ? preflight(request) : undefined,
  )
  .all('/api/*', async (request, env) => {
    const limited = await rateLimit(env, request, request.scope.clientIp, request.scope.requestId);
    return limited ?? proxyApi(request, env, request.scope);
  })
  // The admin console lives on the origin (its sign-in sets the session cookie there).
  .all('/admin', (request, env) => proxyApi(request, env, request.scope))
  .all('/admin/*', async (request, env) => {
    const limited = await rateLimit(env, request, request.scope.clientIp, request.scope.requestId);
    return limited ?? proxyApi(request, env, request.scope);
  })
  .all('*', serveSite);

export default { fetch: router.fetch } satisfies ExportedHandler<Env>;
