import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streamError } from '../../edge-worker/src/fallback.js';
import { errorFrame } from '../../edge-worker/src/sse.js';
import { type ChatFailure, type Source, streamChat } from './chat.js';

/**
 * The chat client against a local HTTP server that plays the origin's part, including the
 * failures that are hard to cause on the real stack on demand: a stream cut in the middle.
 */

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;
let handler: Handler;
let server: Server;
let url: string;
const seen: Array<{ headers: IncomingMessage['headers']; body: string }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (part: Buffer) => {
      body += part.toString();
    });
    req.on('end', () => {
      seen.push({ headers: req.headers, body });
      handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/sites/docs/chat`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const frame = (id: string, event: string, data: unknown) =>
  `id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

async function run(signal = new AbortController().signal, backoffMs: number[] = [], target = url) {
  seen.length = 0;
  const out = {
    text: '',
    sources: [] as Source[],
    meta: [] as unknown[],
    done: 0,
    restarts: 0,
    failures: [] as ChatFailure[],
    retries: [] as number[],
  };
  await streamChat(
    {
      url: target,
      key: 'pk_test',
      message: 'Hi?',
      conversationId: undefined,
      signal,
      retries: 2,
      backoffMs,
    },
    {
      meta: (meta) => out.meta.push(meta),
      sources: (sources) => {
        out.sources = sources;
      },
      token: (text) => {
        out.text += text;
      },
      done: () => {
        out.done += 1;
      },
      fail: (failure) => out.failures.push(failure),
      restart: () => {
        out.restarts += 1;
        out.text = '';
      },
      retrying: (ms) => out.retries.push(ms),
    },
  );
  return out;
}

describe('streamChat', () => {
  it('posts the question with the site key as JSON and streams the events', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(frame('abcdefghijkl.1', 'meta', { conversationId: 'c-1' }));
      res.write(': ping\n\n');
      res.write(frame('abcdefghijkl.2', 'sources', { sources: [{ n: 1, title: 'T', url: null }] }));
      res.write(frame('abcdefghijkl.3', 'token', { text: 'Hello ' }));
      res.end(
        frame('abcdefghijkl.4', 'token', { text: 'world' }) + frame('abcdefghijkl.5', 'done', {}),
      );
    };
    const out = await run();
    expect(out).toMatchObject({ text: 'Hello world', done: 1, failures: [] });
    expect(out.meta).toEqual([{ conversationId: 'c-1' }]);
    expect(out.sources).toEqual([{ n: 1, title: 'T', url: null }]);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.headers['x-site-key']).toBe('pk_test');
    expect(seen[0]!.headers['content-type']).toBe('application/json');
    expect(seen[0]!.headers['last-event-id']).toBeUndefined();
    expect(JSON.parse(seen[0]!.body)).toEqual({ message: 'Hi?' });
  });

  it('resumes a dropped stream with Last-Event-ID and does not repeat what it had', async () => {
    let calls = 0;
    handler = (req, res) => {
      calls += 1;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (calls === 1) {
        res.write(frame('abcdefghijkl.1', 'meta', {}));
        res.write(frame('abcdefghijkl.2', 'token', { text: 'Hello ' }));
        setTimeout(() => req.socket.destroy(), 50);
        return;
      }
      res.end(
        frame('abcdefghijkl.3', 'token', { text: 'again' }) + frame('abcdefghijkl.4', 'done', {}),
      );
    };
    const out = await run();
    expect(out).toMatchObject({ text: 'Hello again', done: 1, failures: [] });
    expect(seen.map((r) => r.headers['last-event-id'])).toEqual([undefined, 'abcdefghijkl.2']);
    expect(seen[1]!.headers['x-site-key']).toBe('pk_test');
  });

  it('asks again, from the start, after a shutting_down event and its retry delay', async () => {
    let calls = 0;
    const at: number[] = [];
    handler = (_req, res) => {
      calls += 1;
      at.push(Date.now());
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (calls === 1) {
        res.write(frame('abcdefghijkl.1', 'token', { text: 'Half an ' }));
        res.end(
          `retry: 200\n${frame('abcdefghijkl.2', 'error', { code: 'shutting_down', retryable: true, retryAfterMs: 200 })}`,
        );
        return;
      }
      res.end(
        frame('mnopqrstuvwx.1', 'token', { text: 'A whole answer' }) +
          frame('mnopqrstuvwx.2', 'done', {}),
      );
    };
    const out = await run();
    expect(out).toMatchObject({ text: 'A whole answer', done: 1, restarts: 1, failures: [] });
    // A new question, not a resume: the stream it named is gone with the old process.
    expect(seen.map((r) => r.headers['last-event-id'])).toEqual([undefined, undefined]);
    expect(JSON.parse(seen[1]!.body)).toEqual({ message: 'Hi?' });
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(180);
  });

  it('resumes with Last-Event-ID when the edge reports the origin gone mid-answer', async () => {
    let calls = 0;
    handler = (_req, res) => {
      calls += 1;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (calls === 1) {
        // The edge's guard appends this event (without an id) to a stream its origin broke.
        res.end(
          frame('abcdefghijkl.1', 'token', { text: 'Hello ' }) +
            frame('', 'error', { code: 'origin_unavailable', message: 'x' }),
        );
        return;
      }
      res.end(
        frame('abcdefghijkl.2', 'token', { text: 'again' }) + frame('abcdefghijkl.3', 'done', {}),
      );
    };
    const out = await run(undefined, [5]);
    expect(out).toMatchObject({ text: 'Hello again', done: 1, failures: [], retries: [] });
    expect(seen.map((r) => r.headers['last-event-id'])).toEqual([undefined, 'abcdefghijkl.1']);
  });

  it('resumes from its start a stream that broke before its first event, by its X-Stream-Id', async () => {
    let calls = 0;
    handler = (_req, res) => {
      calls += 1;
      if (calls === 1) {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'x-stream-id': 'abcdefghijkl' });
        res.end(frame('', 'error', { code: 'origin_unavailable', message: 'x' }));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(
        frame('abcdefghijkl.1', 'token', { text: 'Once' }) + frame('abcdefghijkl.2', 'done', {}),
      );
    };
    const out = await run(undefined, [5]);
    expect(out).toMatchObject({ text: 'Once', done: 1, failures: [], retries: [] });
    // Not asked a second time: that would answer, and store, the question twice.
    expect(seen.map((r) => r.headers['last-event-id'])).toEqual([undefined, 'abcdefghijkl.0']);
    expect(JSON.parse(seen[1]!.body)).toEqual({ message: 'Hi?' });
  });

  it('takes a new answer to a resume from the start when the stream died with its origin', async () => {
    let calls = 0;
    handler = (req, res) => {
      calls += 1;
      if (calls === 1) {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'x-stream-id': 'abcdefghijkl' });
        res.write(': ping\n\n');
        setTimeout(() => req.socket.destroy(), 20);
        return;
      }
      // The origin answers the repeated question anew: a stream of its own.
      res.writeHead(200, { 'content-type': 'text/event-stream', 'x-stream-id': 'mnopqrstuvwx' });
      res.end(
        frame('mnopqrstuvwx.1', 'token', { text: 'Anew' }) + frame('mnopqrstuvwx.2', 'done', {}),
      );
    };
    const out = await run();
    expect(out).toMatchObject({ text: 'Anew', done: 1, failures: [] });
    expect(seen.map((r) => r.headers['last-event-id'])).toEqual([undefined, 'abcdefghijkl.0']);
  });

  it('gives up after its retries and says the connection dropped', async () => {
    handler = (req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(frame(`abcdefghijkl.${seen.length}`, 'token', { text: 'x' }));
      setTimeout(() => req.socket.destroy(), 20);
    };
    const out = await run();
    expect(seen).toHaveLength(3);
    expect(out.failures).toEqual([{ kind: 'dropped', code: 'dropped' }]);
  });

  it('puts a 429 in words with its Retry-After', async () => {
    handler = (_req, res) => {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '17' });
      res.end(JSON.stringify({ error: { code: 'rate_limited', message: 'x', requestId: 'r' } }));
    };
    const out = await run();
    expect(out.failures).toEqual([
      { kind: 'limited', code: 'rate_limited', status: 429, retryAfter: 17 },
    ]);
  });

  it('tells maintenance (no retry) from an unreachable origin (retried with backoff)', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      // The edge's own event, as it builds it (its `Retry-After` of 30 s is 30000 ms in the event).
      res.end(errorFrame(streamError('maintenance', 30)));
    };
    const maintenance = await run(undefined, [5, 5]);
    expect(maintenance.failures).toEqual([
      { kind: 'maintenance', code: 'maintenance', retryAfter: 30 },
    ]);
    expect(seen).toHaveLength(1);

    // The edge's stream for an origin it cannot reach: asked again after each wait, then given up.
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(frame('', 'error', { code: 'origin_unavailable', message: 'x' }));
    };
    const down = await run(undefined, [5, 10]);
    expect(down.retries).toEqual([5, 10]);
    expect(seen).toHaveLength(3);
    expect(down.failures).toEqual([{ kind: 'unreachable', code: 'origin_unavailable' }]);

    // A 503 from an overloaded origin is retried the same way, and a later success is used.
    let calls = 0;
    handler = (_req, res) => {
      calls += 1;
      if (calls === 1) {
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'unavailable', message: 'x', requestId: 'r' } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(frame('a.1', 'token', { text: 'ok' }) + frame('a.2', 'done', { cited: [] }));
    };
    const busy = await run(undefined, [5]);
    expect(busy).toMatchObject({ text: 'ok', done: 1, failures: [], retries: [5] });
  });

  it('retries a refused connection with backoff, then says the assistant is unreachable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const out = await run(
      undefined,
      [5, 10, 20],
      `http://127.0.0.1:${port}/api/v1/sites/docs/chat`,
    );
    expect(out.retries).toEqual([5, 10, 20]);
    expect(out.failures).toEqual([{ kind: 'unreachable', code: 'unreachable' }]);
  });

  it('shows the validation message of a 400 and refuses a 403 in words', async () => {
    handler = (_req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          error: { code: 'validation_failed', message: 'message: must be at most 4000 characters' },
        }),
      );
    };
    expect((await run()).failures[0]).toMatchObject({
      kind: 'failed',
      detail: 'message: must be at most 4000 characters',
    });
    handler = (_req, res) => {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'forbidden', message: 'no' } }));
    };
    expect((await run()).failures[0]).toEqual({
      kind: 'forbidden',
      code: 'forbidden',
      status: 403,
    });
  });

  it('stops quietly when aborted mid-stream', async () => {
    const controller = new AbortController();
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(frame('abcdefghijkl.1', 'token', { text: 'part' }));
      setTimeout(() => controller.abort(), 50);
    };
    const out = await run(controller.signal);
    expect(out).toMatchObject({ text: 'part', done: 0, failures: [] });
    expect(seen).toHaveLength(1);
  });
});
