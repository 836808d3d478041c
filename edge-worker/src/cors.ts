import { READER_CORS, READER_ROUTE } from '../../contract/routes.js';

/** The widget's endpoints, which third-party pages call cross-origin (declared in the contract). */
export { READER_ROUTE };

/**
 * Answers a widget's CORS preflight at the edge, so that it never costs a round trip to the VPS.
 * It reflects the page's origin: whether that origin may use the site is the origin server's
 * decision, made on the actual request (which carries its own CORS headers only when allowed).
 */
export function preflight(request: Request): Response {
  const origin = request.headers.get('Origin');
  const headers = new Headers({ Vary: 'Origin', 'Cache-Control': 'no-store' });
  if (origin !== null) {
    headers.set('Access-Control-Allow-Origin', origin);
    headers.set('Access-Control-Allow-Methods', READER_CORS.methods);
    headers.set('Access-Control-Allow-Headers', READER_CORS.allowHeaders);
    headers.set('Access-Control-Max-Age', READER_CORS.maxAge);
  }
  return new Response(null, { status: 204, headers });
}

/**
 * Lets a widget's page read the edge's own refusals on the reader routes (maintenance, origin down,
 * rate limit), so that the widget can say what happened in words instead of "request failed".
 * Only errors and the edge's fallback stream are opened this way; an answer from the origin keeps
 * the CORS headers the origin chose, which only a site's allowed origins get.
 */
export function readableByPage(request: Request, response: Response): void {
  const origin = request.headers.get('Origin');
  if (origin === null || !READER_ROUTE.test(new URL(request.url).pathname)) return;
  if (response.headers.has('Access-Control-Allow-Origin')) return;
  if (response.status < 400 && !response.headers.has('X-Edge-Fallback')) return;
  response.headers.set('Access-Control-Allow-Origin', origin);
  response.headers.set('Access-Control-Expose-Headers', READER_CORS.exposeHeaders);
  response.headers.append('Vary', 'Origin');
}
