import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'ragedge-widget-'));
const file = join(dir, 'widget.js');
const versionOf = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 12);

describe('GET /widget.js', () => {
  let h: Harness;
  let missing: Harness;

  beforeAll(async () => {
    writeFileSync(file, '(()=>{console.log("widget v1")})();\n');
    h = await startHarness({ env: { WIDGET_FILE: file } });
    missing = await startHarness({ env: { WIDGET_FILE: join(dir, 'not-built.js') } });
  });

  afterAll(async () => {
    await h?.close();
    await missing?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the built file to any page, cacheable for five minutes, without cookies', async () => {
    const response = await h.request('GET', '/widget.js', {
      token: null,
      headers: { origin: 'https://blog.example' },
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('(()=>{console.log("widget v1")})();\n');
    expect(response.headers.get('content-type')).toBe('application/javascript; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('public, max-age=300');
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('etag')).toBe(
      `"${versionOf('(()=>{console.log("widget v1")})();\n')}"`,
    );
    expect(response.headers.get('set-cookie')).toBeNull();
  });

  it('is immutable for a year only when ?v= names the version being served', async () => {
    const version = versionOf('(()=>{console.log("widget v1")})();\n');
    const pinned = await h.request('GET', `/widget.js?v=${version}`, { token: null });
    expect(pinned.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const stale = await h.request('GET', '/widget.js?v=0123456789ab', { token: null });
    expect(stale.status).toBe(200);
    expect(stale.headers.get('cache-control')).toBe('public, max-age=300');
  });

  it('answers a matching If-None-Match with 304 and no body', async () => {
    const first = await h.request('GET', '/widget.js', { token: null });
    const etag = first.headers.get('etag')!;
    const again = await h.request('GET', '/widget.js', {
      token: null,
      headers: { 'if-none-match': `"other", ${etag}` },
    });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    expect(again.headers.get('etag')).toBe(etag);
  });

  it('serves a rebuilt file at once, under a new ETag', async () => {
    const before = (await h.request('GET', '/widget.js', { token: null })).headers.get('etag');
    writeFileSync(file, '(()=>{console.log("widget v2, a longer build")})();\n');
    utimesSync(file, new Date(), new Date(Date.now() + 5_000));
    const after = await h.request('GET', '/widget.js', { token: null });
    expect(await after.text()).toContain('widget v2');
    expect(after.headers.get('etag')).not.toBe(before);
    expect(after.headers.get('etag')).toBe(
      `"${versionOf('(()=>{console.log("widget v2, a longer build")})();\n')}"`,
    );
  });

  it('is a 404 in the error shape, saying how to build it, when the widget is not built', async () => {
    const response = await missing.request('GET', '/widget.js', { token: null });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const body = await response.json();
    expect(body.error.code).toBe('not_found');
    expect(body.error.message).toMatch(/widget has not been built.*web\/build\.mjs/);
    expect(typeof body.error.requestId).toBe('string');
    expect(JSON.stringify(body)).not.toContain(dir);
  });
});
