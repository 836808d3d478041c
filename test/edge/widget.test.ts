import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EdgeProcess, startEdge } from '../edge-process.js';
import { type StagingOrigin, startStagingOrigin } from './staging-origin.js';

describe('the widget from the edge cache', () => {
  let origin: StagingOrigin;
  let edge: EdgeProcess;
  beforeAll(async () => {
    origin = await startStagingOrigin();
    edge = await startEdge({ originUrls: [origin.url], vars: { ORIGIN_TIMEOUT_MS: '1500' } });
  });
  afterAll(async () => {
    await edge?.stop();
    await origin?.close();
  });

  const widget = (query: string) => fetch(`${edge.url}/widget.js${query}`);
  const reset = () =>
    Object.assign(origin.widget, { status: 200, body: '/* widget */', setCookie: false });

  it('fetches a version once (MISS), then serves it from the cache (HIT), ignoring other query params', async () => {
    reset();
    const before = origin.count('/widget.js');
    const first = await widget('?v=1.0.0');
    expect(first.status).toBe(200);
    expect(first.headers.get('x-cache')).toBe('MISS');
    expect(await first.text()).toBe('/* widget */ v=1.0.0');
    expect(first.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const second = await widget('?v=1.0.0&utm_source=newsletter');
    expect(second.headers.get('x-cache')).toBe('HIT');
    expect(await second.text()).toBe('/* widget */ v=1.0.0');
    expect(second.headers.get('x-content-type-options')).toBe('nosniff');
    expect(origin.count('/widget.js')).toBe(before + 1);
  });

  it('keeps the unversioned name for a short time only, and apart from the versioned one', async () => {
    reset();
    const first = await widget('?cachebust=1');
    expect(first.headers.get('x-cache')).toBe('MISS');
    expect(first.headers.get('cache-control')).toBe('public, max-age=300');
    expect(await first.text()).toBe('/* widget */ v=null');
    const second = await widget('');
    expect(second.headers.get('x-cache')).toBe('HIT');
    await second.arrayBuffer();
  });

  it('keeps a version the origin does not vouch for (not immutable) for a short time only', async () => {
    reset();
    const first = await widget('?v=old');
    expect(first.headers.get('x-cache')).toBe('MISS');
    expect(first.headers.get('cache-control')).toBe('public, max-age=300');
    await first.arrayBuffer();
    const second = await widget('?v=old');
    expect(second.headers.get('x-cache')).toBe('HIT');
    expect(second.headers.get('cache-control')).toBe('public, max-age=300');
    await second.arrayBuffer();
  });

  it('still serves a cached widget when the origin is down', async () => {
    reset();
    await (await widget('?v=2.0.0')).arrayBuffer();
    origin.widget.status = 503;
    const whileDown = await widget('?v=2.0.0');
    expect(whileDown.status).toBe(200);
    expect(whileDown.headers.get('x-cache')).toBe('HIT');
    expect(await whileDown.text()).toBe('/* widget */ v=2.0.0');
  });

  it('never caches an error or a response that sets a cookie', async () => {
    reset();
    origin.widget.status = 404;
    const before = origin.count('/widget.js');
    for (let i = 0; i < 2; i += 1) {
      const response = await widget('?v=3.0.0');
      expect(response.status).toBe(404);
      expect(response.headers.get('x-cache')).toBe('MISS');
      await response.arrayBuffer();
    }
    reset();
    origin.widget.setCookie = true;
    for (let i = 0; i < 2; i += 1) {
      const response = await widget('?v=3.0.0');
      expect(response.status).toBe(200);
      expect(response.headers.get('x-cache')).toBe('MISS');
      expect(response.headers.get('set-cookie')).toBeNull();
      await response.arrayBuffer();
    }
    expect(origin.count('/widget.js')).toBe(before + 4);
    reset();
    const clean = await widget('?v=3.0.0');
    expect(clean.headers.get('x-cache')).toBe('MISS');
    await clean.arrayBuffer();
    expect((await widget('?v=3.0.0')).headers.get('x-cache')).toBe('HIT');
  });

  it('gives the JSON error without a cached copy while the origin is down, and refuses a bad version', async () => {
    origin.widget.status = 502;
    const response = await widget('?v=9.9.9');
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
      'origin_unavailable',
    );
    const bad = await widget('?v=<script>');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('bad_request');
    reset();
  });
});
