import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSse } from '../../origin/test/sse.js';
import { type EdgeProcess, freePort, startEdge } from '../edge-process.js';
import { type StagingOrigin, startStagingOrigin } from './staging-origin.js';

const TIMEOUT_MS = 1_500;
const RETRY_AFTER = '17';

/** The three kinds of reader, each asking for the site `mode` of the staging origin. */
const readers = {
  stream: (base: string, mode: string) =>
    fetch(`${base}/api/v1/sites/${mode}/chat`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
      body: JSON.stringify({ message: 'hello?' }),
    }),
  browser: (base: string, mode: string) =>
    fetch(`${base}/api/v1/sites/${mode}/documents`, {
      headers: { Accept: 'text/html,application/xhtml+xml,*/*;q=0.8' },
    }),
  api: (base: string, mode: string) =>
    fetch(`${base}/api/v1/sites/${mode}/documents`, { headers: { Accept: 'application/json' } }),
};

/** Checks that each kind of reader got its form of the fallback for `code`. */
async function expectFallbacks(base: string, mode: string, code: string): Promise<void> {
  const stream = await readers.stream(base, mode);
  expect(stream.status).toBe(200);
  expect(stream.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
  expect(stream.headers.get('retry-after')).toBe(RETRY_AFTER);
  const items = await readSse(stream.body!, { timeoutMs: 20_000 });
  expect(items).toHaveLength(1);
  expect(items[0]!.event).toBe('error');
  expect(items[0]!.data).toEqual({
    code,
    message: expect.stringContaining('back shortly'),
    retryAfterMs: Number(RETRY_AFTER) * 1000,
  });

  const page = await readers.browser(base, mode);
  expect(page.status).toBe(503);
  expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
  expect(page.headers.get('retry-after')).toBe(RETRY_AFTER);
  expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
  const html = await page.text();
  expect(html).toContain('<h1>Back shortly</h1>');
  expect(html).not.toContain('Bad Gateway');

  const api = await readers.api(base, mode);
  expect(api.status).toBe(503);
  expect(api.headers.get('retry-after')).toBe(RETRY_AFTER);
  const body = await api.json();
  expect(body).toEqual({
    error: { code, message: expect.any(String), requestId: api.headers.get('x-request-id') },
  });
}

describe('the fallback when the origin fails', () => {
  let origin: StagingOrigin;
  let edge: EdgeProcess;
  let deadEdge: EdgeProcess;
  let misconfigured: EdgeProcess;
  beforeAll(async () => {
    origin = await startStagingOrigin();
    const vars = { ORIGIN_TIMEOUT_MS: String(TIMEOUT_MS), RETRY_AFTER_SECONDS: RETRY_AFTER };
    // A port that was free a moment ago: nothing listens there, connections are refused.
    const deadUrl = `http://127.0.0.1:${await freePort()}`;
    [edge, deadEdge, misconfigured] = await Promise.all([
      startEdge({ originUrls: [origin.url], vars }),
      startEdge({ originUrls: [deadUrl], vars }),
      startEdge({ originUrls: [origin.url], vars, secret: 'too-short-secret' }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([edge?.stop(), deadEdge?.stop(), misconfigured?.stop()]);
    await origin?.close();
  });

  it('origin stopped: each reader gets its fallback', async () => {
    await expectFallbacks(deadEdge.url, 'anything', 'origin_unavailable');
  });

  it('origin hanging before its headers: the fallback comes after the timeout', async () => {
    const started = performance.now();
    await expectFallbacks(edge.url, 'hang', 'origin_unavailable');
    const elapsed = performance.now() - started;
    // Three requests, each waiting out the timeout; bounded well below "hangs forever".
    expect(elapsed).toBeGreaterThan(3 * TIMEOUT_MS - 300);
    expect(elapsed).toBeLessThan(3 * TIMEOUT_MS + 15_000);
  });

  it('origin answering 502, 503 or a Cloudflare 520: each reader gets its fallback', async () => {
    for (const mode of ['bad-gateway', 'unavailable', 'cf-520']) {
      await expectFallbacks(edge.url, mode, 'origin_unavailable');
    }
  });

  it('origin dying mid-stream: the stream ends with an error event, not a truncated answer', async () => {
    const response = await readers.stream(edge.url, 'die');
    expect(response.status).toBe(200);
    // The stand-in origin's events are its own; only the edge's last one is the contract's.
    const items = await readSse(response.body!, { timeoutMs: 20_000, contract: false });
    expect(items.map((item) => item.event)).toEqual(['meta', 'token', 'error']);
    expect(items[1]!.id).toBe('d.2');
    // No id: a reconnect with Last-Event-ID resumes from the origin's last event.
    expect(items[2]!.id).toBeUndefined();
    expect(items[2]!.data).toEqual({
      code: 'origin_unavailable',
      message: expect.any(String),
      retryAfterMs: Number(RETRY_AFTER) * 1000,
    });
  });

  it('a healthy request through the same Worker still works', async () => {
    const response = await readers.api(edge.url, 'fine');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
  });

  it('a misconfigured Worker answers 500 in the error shape, names the variable in its log, and forwards nothing', async () => {
    const before = origin.count('/api/');
    const response = await fetch(`${misconfigured.url}/api/v1/sites/fine/documents`);
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({
      error: { code: 'internal', message: expect.any(String), requestId: expect.any(String) },
    });
    expect(text).not.toContain('too-short-secret');
    expect(origin.count('/api/')).toBe(before);
    await expect
      .poll(() => misconfigured.logs.join('\n'), { timeout: 10_000 })
      .toContain('EDGE_SHARED_SECRET: must be set');
    expect(misconfigured.logs.join('\n')).not.toContain('too-short-secret');
  });
});
