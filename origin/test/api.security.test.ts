import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HashEmbedder } from '../src/embedders/hash.js';
import type { Embedder } from '../src/embedders/types.js';
import { ADMIN_TOKEN, type Harness, startHarness } from './harness.js';

describe(`admin auth, errors and request ids (${process.env.TEST_DB ?? 'pglite'})`, () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  const adminRoutes: Array<[string, string]> = [
    ['GET', '/api/v1/sites'],
    ['POST', '/api/v1/sites'],
    ['GET', '/api/v1/sites/docs'],
    ['PATCH', '/api/v1/sites/docs'],
    ['DELETE', '/api/v1/sites/docs'],
    ['POST', '/api/v1/sites/docs/documents'],
    ['GET', '/api/v1/sites/docs/documents'],
    ['DELETE', '/api/v1/sites/docs/documents/1'],
    ['POST', '/api/v1/sites/docs/reindex'],
  ];

  for (const [method, path] of adminRoutes) {
    it(`${method} ${path} needs the admin token: 401 without, 403 when wrong`, async () => {
      const missing = await h.request(method, path, { token: null });
      expect(missing.status).toBe(401);
      expect((await missing.json()).error.code).toBe('unauthorized');
      const wrong = await h.request(method, path, { token: `${ADMIN_TOKEN}x` });
      expect(wrong.status).toBe(403);
      expect((await wrong.json()).error.code).toBe('forbidden');
      const basic = await h.request(method, path, {
        token: null,
        headers: { authorization: `Basic ${ADMIN_TOKEN}` },
      });
      expect(basic.status).toBe(403);
    });
  }

  it('serves health without a token as { status } alone, and names the database and the embedder to the admin', async () => {
    const anonymous = await h.request('GET', '/api/v1/health', { token: null });
    expect(anonymous.status).toBe(200);
    expect(await anonymous.json()).toEqual({ status: 'ok' });
    const response = await h.request('GET', '/api/v1/health');
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toMatchObject({
      status: 'ok',
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      database: { status: 'up', kind: process.env.TEST_DB ?? 'pglite' },
      embedder: { id: 'hash-v1', dimension: 384 },
    });
  });

  it('keeps a well-formed X-Request-Id and replaces a malformed one', async () => {
    const kept = await h.request('GET', '/api/v1/health', {
      headers: { 'x-request-id': 'edge-abc-123' },
    });
    expect(kept.headers.get('x-request-id')).toBe('edge-abc-123');
    const replaced = await h.request('GET', '/api/v1/health', {
      headers: { 'x-request-id': 'bad id <script>' },
    });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const error = await h.request('GET', '/api/v1/nope', {
      headers: { 'x-request-id': 'trace-1' },
    });
    expect(error.status).toBe(404);
    expect(error.headers.get('x-request-id')).toBe('trace-1');
    expect(await error.json()).toEqual({
      error: { code: 'not_found', message: expect.any(String), requestId: 'trace-1' },
    });
  });
});

describe(`an unexpected failure (${process.env.TEST_DB ?? 'pglite'})`, () => {
  let h: Harness;
  beforeAll(async () => {
    const failing: Embedder = Object.assign(new HashEmbedder({ dimension: 384 }), {
      embed: async () => {
        throw new Error('ONNX session failed at /opt/app/models/secret.onnx: select * from chunks');
      },
    });
    h = await startHarness({ embedder: failing });
    await h.createSite('docs');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('is a 500 in the error shape with no stack, SQL or path, and stores nothing', async () => {
    const response = await h.request('POST', '/api/v1/sites/docs/documents', {
      json: { title: 'T', content: 'Some words.' },
    });
    expect(response.status).toBe(500);
    const text = await response.text();
    const body = JSON.parse(text);
    expect(body.error.code).toBe('internal');
    expect(body.error.requestId).toBe(response.headers.get('x-request-id'));
    expect(text).not.toMatch(/secret|select|\/opt|at .*\.ts|Error:/i);
    expect(await h.counts()).toEqual({ documents: 0, chunks: 0 });
  });
});
