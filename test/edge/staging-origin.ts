import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** One request as the staging origin saw it. */
export interface SeenRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  bodyBytes: number;
}

/** What `GET /widget.js` answers; tests change it between requests. */
export interface WidgetBehaviour {
  status: number;
  body: string;
  setCookie: boolean;
}

/**
 * A small origin whose failures a test can stage, for what the real origin cannot be made to do
 * on demand. Its behaviour is chosen by the site segment of the path, `/api/v1/sites/<mode>/…`:
 * `tick` (10 events 100 ms apart), `long` (40 s of pings, then done), `hang` (never answers),
 * `bad-gateway` (502), `unavailable` (503), `cf-520`, `die` (two events, then the connection
 * drops), anything else 200. `/api/echo` answers with the headers and the body size it got.
 */
export interface StagingOrigin {
  url: string;
  seen: SeenRequest[];
  widget: WidgetBehaviour;
  /** Requests seen whose path starts with `prefix`. */
  count(prefix: string): number;
  close(): Promise<void>;
}

const SEEN_LIMIT = 10_000;

export function sseFrame(id: string, event: string, data: unknown): string {
  return `id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export async function startStagingOrigin(): Promise<StagingOrigin> {
  const seen: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const widget: WidgetBehaviour = { status: 200, body: '/* widget */', setCookie: false };
  const later = (ms: number, fn: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    let bodyBytes = 0;
    for await (const chunk of request) bodyBytes += (chunk as Buffer).length;
    const url = new URL(request.url ?? '/', 'http://staging');
    if (seen.length < SEEN_LIMIT) {
      seen.push({
        method: request.method ?? '',
        path: url.pathname,
        headers: request.headers,
        bodyBytes,
      });
    }
    if (url.pathname === '/widget.js') {
      const headers: Record<string, string> = {
        'Content-Type': 'text/javascript; charset=utf-8',
      };
      if (widget.setCookie) headers['Set-Cookie'] = 'tracking=1; Path=/';
      // Like the real origin: immutable only for the version it is currently serving.
      const version = url.searchParams.get('v');
      headers['Cache-Control'] =
        version !== null && version !== 'old'
          ? 'public, max-age=31536000, immutable'
          : 'public, max-age=300';
      response
        .writeHead(widget.status, headers)
        .end(`${widget.body} v=${url.searchParams.get('v')}`);
      return;
    }
    if (url.pathname === '/api/echo') {
      response
        .writeHead(200, {
          'Content-Type': 'application/json',
          Connection: 'keep-alive, X-Private-Hop',
          'X-Private-Hop': 'secret-hop',
        })
        .end(JSON.stringify({ headers: request.headers, bodyBytes }));
      return;
    }
    if (url.pathname === '/api/v1/health') {
      response.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    const mode = /^\/api\/v1\/sites\/([^/]+)\//.exec(url.pathname)?.[1] ?? 'ok';
    const stream = () =>
      response.writeHead(200, {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-cache, no-transform',
      });
    switch (mode) {
      case 'hang':
        return;
      case 'bad-gateway':
        response.writeHead(502, { 'Content-Type': 'text/html' }).end('<h1>502 Bad Gateway</h1>');
        return;
      case 'unavailable':
        response.writeHead(503, { 'Content-Type': 'text/html' }).end('<h1>503</h1>');
        return;
      case 'cf-520':
        response.writeHead(520, { 'Content-Type': 'text/plain' }).end('520');
        return;
      case 'tick': {
        stream();
        for (let i = 1; i <= 10; i += 1) {
          later(i * 100, () => {
            response.write(sseFrame(`t.${i}`, 'token', { text: `${i} `, sentAt: Date.now() }));
            if (i === 10) response.end(sseFrame('t.11', 'done', { finishReason: 'stop' }));
          });
        }
        return;
      }
      case 'long': {
        stream();
        response.write(sseFrame('l.1', 'meta', { startedAt: Date.now() }));
        for (let s = 2; s <= 40; s += 2) later(s * 1000, () => response.write(': ping\n\n'));
        later(40_500, () => response.end(sseFrame('l.2', 'done', { finishReason: 'stop' })));
        return;
      }
      case 'die': {
        stream();
        response.write(sseFrame('d.1', 'meta', {}));
        later(200, () => response.write(sseFrame('d.2', 'token', { text: 'Half an ' })));
        later(400, () => request.socket.destroy());
        return;
      }
      default:
        if (url.pathname.endsWith('/chat')) {
          stream();
          response.end(
            sseFrame('o.1', 'token', { text: 'fine' }) +
              sseFrame('o.2', 'done', { finishReason: 'stop' }),
          );
        } else {
          response.writeHead(200, { 'Content-Type': 'application/json' }).end('{"ok":true}');
        }
    }
  };

  const server = createServer((request, response) => {
    handle(request, response).catch(() => response.destroy());
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  let closed = false;
  return {
    url: `http://127.0.0.1:${address.port}`,
    seen,
    widget,
    count: (prefix) => seen.filter((request) => request.path.startsWith(prefix)).length,
    async close() {
      if (closed) return;
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}
