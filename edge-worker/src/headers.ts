/**
 * Every security header the product sends is set here, on the way out of the Worker, for the
 * chat site, the maintenance page, the widget and the API alike.
 */

/** The chat site's policy: its own scripts and API only; inline styles for the maintenance page. */
export const SITE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Adds the security headers that fit the response: all responses get `nosniff` and a referrer
 * policy; HTML (the chat site, the maintenance page) also gets the CSP and `X-Frame-Options`.
 * API responses do not get `X-Frame-Options`: the widget reads them cross-origin, never framed.
 */
export function withSecurityHeaders(response: Response): Response {
  // Responses from `fetch` and from the assets binding have immutable headers.
  const out = new Response(response.body, response);
  out.headers.set('X-Content-Type-Options', 'nosniff');
  out.headers.set('Referrer-Policy', 'strict-origin-when-cross-origin');
  if ((out.headers.get('Content-Type') ?? '').startsWith('text/html')) {
    // The origin's own pages (the admin console) come with a stricter policy of their own.
    if (!out.headers.has('Content-Security-Policy'))
      out.headers.set('Content-Security-Policy', SITE_CSP);
    out.headers.set('X-Frame-Options', 'DENY');
  }
  return out;
}

/** Connection-level headers that must not be forwarded by a proxy (RFC 9110 §7.6.1). */
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
];

/** A copy of `headers` without the hop-by-hop ones, including those the `Connection` header names. */
export function withoutHopByHop(headers: Headers): Headers {
  const out = new Headers(headers);
  const named = (headers.get('connection') ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');
  for (const name of [...HOP_BY_HOP, ...named]) out.delete(name);
  return out;
}
