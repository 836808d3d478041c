import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSse } from '../../origin/test/sse.js';
import { type EdgeProcess, startEdge } from '../edge-process.js';
import { type StagingOrigin, startStagingOrigin } from './staging-origin.js';

describe('forwarding through the Worker in workerd', () => {
  let origin: StagingOrigin;
  let edge: EdgeProcess;
  beforeAll(async () => {
    origin = await startStagingOrigin();
    edge = await startEdge({ originUrls: [origin.url] });
  });
  afterAll(async () => {
    await edge?.stop();
    await origin?.close();
  });

  const chat = (mode: string) =>
    fetch(`${edge.url}/api/v1/sites/${mode}/chat`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
      body: JSON.stringify({ message: 'hi' }),
    });

  it('passes events on as they are sent, 100 ms apart, not all at the end', async () => {
    const started = performance.now();
    const response = await chat('tick');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const items = await readSse(response.body!, { timeoutMs: 20_000, contract: false });
    const tokens = items.filter((item) => item.event === 'token');
    expect(tokens.map((item) => (item.data as { text: string }).text).join('')).toBe(
      '1 2 3 4 5 6 7 8 9 10 ',
    );
    expect(items.at(-1)!.event).toBe('done');
    // Sent over ~900 ms: buffered, they would all arrive within a few ms of each other.
    const spread = tokens.at(-1)!.at - tokens[0]!.at;
    expect(spread).toBeGreaterThan(600);
    const gaps = tokens.slice(1).map((item, i) => item.at - tokens[i]!.at);
    expect(gaps.filter((gap) => gap >= 40).length).toBeGreaterThanOrEqual(6);
    expect(tokens[0]!.at - started).toBeLessThan(spread + 2_000);
  });

  it('keeps a 40 s stream with pings open to its end', { timeout: 90_000 }, async () => {
    const response = await chat('long');
    const items = await readSse(response.body!, { timeoutMs: 70_000, contract: false });
    expect(items.filter((item) => item.comment === 'ping').length).toBeGreaterThanOrEqual(18);
    expect(items.at(-1)!.event).toBe('done');
    expect(items.at(-1)!.at - items[0]!.at).toBeGreaterThan(39_000);
  });

  it('sends the shared secret, the client IP and a request id, and drops hop-by-hop headers', async () => {
    const response = await fetch(`${edge.url}/api/echo`, {
      headers: {
        'X-Edge-Secret': 'forged-by-the-client',
        'X-Client-IP': '6.6.6.6',
        'X-Request-Id': 'client-id-123',
        'Proxy-Authorization': 'Basic abc',
      },
    });
    expect(response.status).toBe(200);
    const { headers } = (await response.json()) as { headers: Record<string, string> };
    expect(headers['x-edge-secret']).toBe(edge.secret);
    expect(headers['x-client-ip']).not.toBe('6.6.6.6');
    expect(headers['x-client-ip']).toMatch(/^[0-9a-f.:]+$/);
    expect(headers['x-request-id']).toBe('client-id-123');
    expect(headers['proxy-authorization']).toBeUndefined();
    expect(response.headers.get('x-request-id')).toBe('client-id-123');
    // Named in the origin's Connection header: for that hop only.
    expect(response.headers.get('x-private-hop')).toBeNull();
    expect(response.headers.get('x-frame-options')).toBeNull();
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('replaces a request id that is not sane with its own', async () => {
    const response = await fetch(`${edge.url}/api/echo`, {
      headers: { 'X-Request-Id': 'bad id\twith spaces and <html>' },
    });
    const { headers } = (await response.json()) as { headers: Record<string, string> };
    expect(headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.get('x-request-id')).toBe(headers['x-request-id']);
  });

  it('streams a 50 MB upload through to the origin', { timeout: 120_000 }, async () => {
    const size = 50 * 1024 * 1024;
    const chunk = new Uint8Array(1024 * 1024).fill(97);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= size) controller.close();
        else {
          controller.enqueue(chunk);
          sent += chunk.length;
        }
      },
    });
    const response = await fetch(`${edge.url}/api/echo`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { bodyBytes: number }).bodyBytes).toBe(size);
  });
});
