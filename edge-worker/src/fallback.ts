import { READER_ROUTE } from './cors.js';
import { errorResponse } from './errors.js';
import { errorStream, type StreamError } from './sse.js';

export type FallbackReason = 'maintenance' | 'origin_unavailable';

const MESSAGES: Record<FallbackReason, string> = {
  maintenance: "We're updating the service. We'll be back shortly.",
  origin_unavailable: "The service is temporarily unavailable. We'll be back shortly.",
};

/** Who is asking, which decides the form of a fallback. */
export type Audience = 'stream' | 'browser' | 'api';

/** A chat request or an `EventSource` wants events; a navigation wants a page; the rest JSON. */
export function audienceOf(request: Request): Audience {
  const accept = request.headers.get('Accept') ?? '';
  const path = new URL(request.url).pathname;
  if (accept.includes('text/event-stream')) return 'stream';
  if (request.method === 'POST' && READER_ROUTE.test(path) && path.endsWith('/chat')) {
    return 'stream';
  }
  if (accept.includes('text/html')) return 'browser';
  return 'api';
}

/**
 * The streaming reader's error event for `reason`. `retryAfterSeconds` is the `Retry-After` the
 * edge sends in headers; in the event, as in every body, the wait is in milliseconds.
 */
export function streamError(reason: FallbackReason, retryAfterSeconds: number): StreamError {
  return { code: reason, message: MESSAGES[reason], retryAfterMs: retryAfterSeconds * 1000 };
}

/**
 * What a reader gets instead of the origin's answer: a styled page (503) for a browser, the JSON
 * error shape (503) for the API, and for a chat stream a `200 text/event-stream` holding one
 * `error` event — a fetch-based event reader parses a 200 stream the same way as a real answer,
 * so the widget shows the message instead of treating the reply as a broken response.
 */
export function fallbackResponse(
  request: Request,
  reason: FallbackReason,
  requestId: string,
  retryAfter: number,
): Response {
  const retry = { 'Retry-After': String(retryAfter), 'Cache-Control': 'no-store' };
  switch (audienceOf(request)) {
    case 'stream':
      return new Response(errorStream(streamError(reason, retryAfter)), {
        status: 200,
        headers: {
          'Content-Type': 'text/event-stream; charset=utf-8',
          // Marks the edge's own answer, which `readableByPage` lets a widget's page read.
          'X-Edge-Fallback': reason,
          ...retry,
        },
      });
    case 'browser':
      return new Response(maintenancePage(MESSAGES[reason], retryAfter), {
        status: 503,
        headers: { 'Content-Type': 'text/html; charset=utf-8', ...retry },
      });
    case 'api':
      return errorResponse(503, reason, MESSAGES[reason], requestId, retry);
  }
}

function maintenancePage(message: string, retryAfter: number): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="${retryAfter}">
<title>Back shortly</title>
<style>
  :root { color-scheme: light dark; }
  body { margin: 0; min-height: 100vh; display: grid; place-items: center;
    font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
    background: #f6f7f9; color: #1d2330; }
  main { max-width: 28rem; padding: 2.5rem 2rem; text-align: center; background: #fff;
    border-radius: 12px; box-shadow: 0 2px 12px rgb(0 0 0 / 8%); }
  h1 { margin: 0 0 .5rem; font-size: 1.4rem; }
  p { margin: 0; color: #505a6b; }
  @media (prefers-color-scheme: dark) {
    body { background: #14171c; color: #e7eaf0; }
    main { background: #1d2129; box-shadow: none; }
    p { color: #a9b2c1; }
  }
</style>
</head>
<body>
<main>
<h1>Back shortly</h1>
<p>${message}</p>
<p>This page retries by itself in ${retryAfter} seconds.</p>
</main>
</body>
</html>
`;
}
