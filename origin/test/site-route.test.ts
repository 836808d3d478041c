import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

const root = mkdtempSync(join(tmpdir(), 'ragedge-site-'));
const siteDir = join(root, 'site');
const INDEX = '<!doctype html><title>chat</title><script src="/site.js"></script>';

describe('the chat site served by the origin itself (the embedded default)', () => {
  let h: Harness;
  let behindEdge: Harness;
  let off: Harness;

  beforeAll(async () => {
    mkdirSync(siteDir);
    writeFileSync(join(siteDir, 'index.html'), INDEX);
    writeFileSync(join(siteDir, 'site.js'), 'console.log("site");\n');
    writeFileSync(join(root, 'secret.txt'), 'outside the site folder\n');
    h = await startHarness({ env: { SITE_DIR: siteDir } });
    behindEdge = await startHarness({
      env: { SITE_DIR: siteDir, EDGE_SHARED_SECRET: 'e'.repeat(32) },
      database: h.database,
    });
    off = await startHarness({
      env: { SITE_DIR: siteDir, SERVE_SITE: 'false' },
      database: h.database,
    });
  });

  afterAll(async () => {
    await off?.close();
    await behindEdge?.close();
    await h?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('serves its files, and index.html with the site policy for any page path', async () => {
    const script = await h.request('GET', '/site.js', { token: null });
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/javascript/);
    expect(script.headers.get('x-content-type-options')).toBe('nosniff');
    for (const path of ['/', '/s/handbook', '/s/handbook?key=pk_x']) {
      const page = await h.request('GET', path, { token: null });
      expect(page.status).toBe(200);
      expect(await page.text()).toBe(INDEX);
      expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(page.headers.get('x-frame-options')).toBe('DENY');
    }
  });

  it('never serves a file outside its folder, and leaves the API its own 404', async () => {
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt']) {
      const response = await h.request('GET', path, { token: null });
      expect(await response.text()).not.toContain('outside the site folder');
    }
    const api = await h.request('GET', '/api/v1/nope', { token: null });
    expect(api.status).toBe(404);
    expect((await api.json()).error.code).toBe('not_found');
  });

  it('lets its own page use a site key, and no other origin', async () => {
    const created = await h.request('POST', '/api/v1/sites', { json: { name: 'own-site' } });
    const key = (await created.json()).site.publicKey as string;
    const ask = (origin: string) =>
      h.request('POST', '/api/v1/sites/own-site/search', {
        token: null,
        headers: { origin, 'x-site-key': key },
        json: { query: 'anything' },
      });
    // The harness's requests go to http://localhost: that is this origin's own page.
    expect((await ask('http://localhost')).status).toBe(200);
    expect((await ask('http://localhost:8123')).status).toBe(403);
    expect((await ask('https://elsewhere.example')).status).toBe(403);
  });

  it('is not served behind an edge (it serves the site) or when switched off', async () => {
    for (const other of [behindEdge, off]) {
      const page = await other.request('GET', '/s/handbook', {
        token: null,
        headers: { 'x-edge-secret': 'e'.repeat(32) },
      });
      expect(page.status).toBe(404);
      expect((await page.json()).error.code).toBe('not_found');
    }
  });
});
