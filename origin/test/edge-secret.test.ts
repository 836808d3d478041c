import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness, TEST_DB } from './harness.js';

const SECRET = 'edge-secret-for-tests-abcdefghij';

describe(`the edge's shared secret (${TEST_DB})`, () => {
  let h: Harness;
  let open: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { EDGE_SHARED_SECRET: SECRET } });
    open = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
    await open?.close();
  });

  it('refuses a request straight to the origin without the secret, even with the admin token, and stores nothing', async () => {
    const before = await h.counts();
    const attempts: Record<string, string>[] = [
      {},
      { 'x-edge-secret': 'x'.repeat(SECRET.length) },
      { 'x-edge-secret': `${SECRET}x` },
      { 'x-edge-secret': SECRET.slice(0, -1) },
      { 'x-edge-secret': '' },
    ];
    for (const headers of attempts) {
      const response = await h.request('POST', '/api/v1/sites', {
        json: { name: 'sneaky' },
        headers,
      });
      expect(response.status).toBe(403);
      const body = await response.json();
      expect(body).toEqual({
        error: { code: 'forbidden', message: expect.any(String), requestId: expect.any(String) },
      });
      expect(JSON.stringify(body)).not.toContain(SECRET);
    }
    const list = await h.request('GET', '/api/v1/sites', { headers: { 'x-edge-secret': SECRET } });
    expect((await list.json()).sites).toEqual([]);
    expect(await h.counts()).toEqual(before);
  });

  it('refuses the reader routes without the secret before looking at the site key', async () => {
    const response = await h.request('POST', '/api/v1/sites/docs/chat', {
      token: null,
      json: { message: 'hello' },
      headers: { 'x-site-key': 'pk_whatever', 'x-client-ip': '203.0.113.9' },
    });
    expect(response.status).toBe(403);
    expect((await response.json()).error.code).toBe('forbidden');
  });

  it('lets the edge in with the right secret', async () => {
    const created = await h.request('POST', '/api/v1/sites', {
      json: { name: 'through-the-edge' },
      headers: { 'x-edge-secret': SECRET },
    });
    expect(created.status).toBe(201);
  });

  it('answers the health check without the secret, and only the health check path', async () => {
    const health = await h.request('GET', '/api/v1/health', { token: null });
    expect(health.status).toBe(200);
    expect((await health.json()).status).toBe('ok');
    for (const path of ['/api/v1/healthz', '/api/v1/health/x', '/api/v1/sites']) {
      const response = await h.request('GET', path, { token: null });
      expect(response.status, path).toBe(403);
    }
  });

  it('leaves /metrics to its own access rule', async () => {
    const response = await h.request('GET', '/metrics', { token: null });
    const text = await response.text();
    expect(text).not.toContain('requests must come through the edge');
  });

  it('checks nothing when no secret is configured (development)', async () => {
    const created = await open.request('POST', '/api/v1/sites', { json: { name: 'local' } });
    expect(created.status).toBe(201);
  });
});
