import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, createTestDatabase, type TestDatabase } from '../../origin/test/harness.js';
import { answerText, readSse } from '../../origin/test/sse.js';
import { type EdgeProcess, newEdgeSecret, startEdge } from '../edge-process.js';
import { type OriginProcess, startOrigin } from '../origin-process.js';

const WIDGET = '(()=>{console.log("ragedge widget")})();\n';
const widgetDir = mkdtempSync(join(tmpdir(), 'ragedge-edge-widget-'));
writeFileSync(join(widgetDir, 'widget.js'), WIDGET);

const admin = { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' };

describe('the Worker in front of the real origin', () => {
  let database: TestDatabase;
  let secret: string;
  let origins: OriginProcess[] = [];
  let edge: EdgeProcess;
  let siteKey: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    secret = newEdgeSecret();
    const env = {
      EMBEDDER: 'hash',
      ADMIN_TOKEN,
      EDGE_SHARED_SECRET: secret,
      WIDGET_FILE: join(widgetDir, 'widget.js'),
      ...database.env,
    };
    // Two origins on one database, as the Worker's several-origins mode expects them.
    const started = await Promise.allSettled([startOrigin(env), startOrigin(env)]);
    origins = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    for (const result of started) if (result.status === 'rejected') throw result.reason;
    edge = await startEdge({
      originUrls: origins.map((origin) => origin.url),
      secret,
      vars: { RETRY_AFTER_SECONDS: '20' },
    });
    const created = await fetch(`${edge.url}/api/v1/sites`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ name: 'docs' }),
    });
    expect(created.status).toBe(201);
    siteKey = ((await created.json()) as { site: { publicKey: string } }).site.publicKey;
    const added = await fetch(`${edge.url}/api/v1/sites/docs/documents`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({
        title: 'Backups',
        content: '# Backups\n\nThe nightly job runs pg_dump and keeps seven dumps on the VPS.',
      }),
    });
    expect(added.status).toBe(201);
  });
  afterAll(async () => {
    await edge?.stop();
    await Promise.all(origins.map((origin) => origin.stop()));
    await database?.drop();
    rmSync(widgetDir, { recursive: true, force: true });
  });

  const ask = () =>
    fetch(`${edge.url}/api/v1/sites/docs/chat`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Site-Key': siteKey },
      body: JSON.stringify({ message: 'How many dumps are kept?' }),
    });

  it('streams a chat answer from the origin through the Worker', async () => {
    const response = await ask();
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const items = await readSse(response.body!, { timeoutMs: 30_000 });
    const events = items.filter((item) => item.event !== undefined).map((item) => item.event);
    expect(events[0]).toBe('meta');
    expect(events.at(-1)).toBe('done');
    expect(answerText(items)).toMatch(/seven dumps/);
    expect(items.find((item) => item.event === 'error')).toBeUndefined();
  });

  it('the origin refuses a request that comes straight to it without the secret', async () => {
    const straight = await fetch(`${origins[0]!.url}/api/v1/sites`, { headers: admin });
    expect(straight.status).toBe(403);
    expect(((await straight.json()) as { error: { code: string } }).error.code).toBe('forbidden');
    const viaEdge = await fetch(`${edge.url}/api/v1/sites`, { headers: admin });
    expect(viaEdge.status).toBe(200);
  });

  it('with the maintenance flag set, readers get the maintenance fallback and health still answers', async () => {
    await edge.setMaintenance(true);
    try {
      const stream = await ask();
      expect(stream.status).toBe(200);
      expect(stream.headers.get('retry-after')).toBe('20');
      const items = await readSse(stream.body!, { timeoutMs: 20_000 });
      expect(items.map((item) => [item.event, (item.data as { code: string }).code])).toEqual([
        ['error', 'maintenance'],
      ]);

      const page = await fetch(`${edge.url}/api/v1/sites/docs/documents`, {
        headers: { Accept: 'text/html' },
      });
      expect(page.status).toBe(503);
      expect(page.headers.get('retry-after')).toBe('20');
      expect(await page.text()).toContain("We're updating the service.");

      const api = await fetch(`${edge.url}/api/v1/sites`, { headers: admin });
      expect(api.status).toBe(503);
      expect(((await api.json()) as { error: { code: string } }).error.code).toBe('maintenance');

      const health = await fetch(`${edge.url}/api/v1/health`);
      expect(health.status).toBe(200);
      expect(((await health.json()) as { status: string }).status).toBe('ok');
    } finally {
      await edge.setMaintenance(false);
    }
    const after = await ask();
    const items = await readSse(after.body!, { timeoutMs: 30_000 });
    expect(items.at(-1)!.event).toBe('done');
  });

  it('serves the chat site with its security headers and the single-page fallback', async () => {
    for (const path of ['/', '/some/client/route']) {
      const response = await fetch(`${edge.url}${path}`, { headers: { Accept: 'text/html' } });
      expect(response.status, path).toBe(200);
      expect(await response.text()).toContain('fixture site');
      expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('referrer-policy')).toBe('strict-origin-when-cross-origin');
    }
    const api = await fetch(`${edge.url}/api/v1/health`);
    expect(api.headers.get('x-frame-options')).toBeNull();
    expect(api.headers.get('content-security-policy')).toBeNull();
    expect(api.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it("serves the origin's widget from the edge cache, a year for its current version", async () => {
    const version = createHash('sha256').update(WIDGET).digest('hex').slice(0, 12);
    const first = await fetch(`${edge.url}/widget.js?v=${version}`);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-cache')).toBe('MISS');
    expect(first.headers.get('content-type')).toBe('application/javascript; charset=utf-8');
    expect(first.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await first.text()).toBe(WIDGET);
    const second = await fetch(`${edge.url}/widget.js?v=${version}&ref=home`);
    expect(second.headers.get('x-cache')).toBe('HIT');
    expect(await second.text()).toBe(WIDGET);
    const unversioned = await fetch(`${edge.url}/widget.js`);
    expect(unversioned.headers.get('cache-control')).toBe('public, max-age=300');
    expect(await unversioned.text()).toBe(WIDGET);
  });

  it('never exposes the origin metrics', async () => {
    for (const path of ['/metrics', '/metrics/', '/metrics?format=json']) {
      const response = await fetch(`${edge.url}${path}`, { headers: admin });
      expect(response.status, path).toBe(404);
      const body = (await response.json()) as { error: { code: string } };
      expect(body.error.code).toBe('not_found');
    }
  });

  it('answers a widget preflight at the edge, reflecting the page origin', async () => {
    const response = await fetch(`${edge.url}/api/v1/sites/docs/chat`, {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://blog.example',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type, x-site-key',
      },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('https://blog.example');
    expect(response.headers.get('access-control-allow-methods')).toContain('POST');
    const allowed = response.headers.get('access-control-allow-headers') ?? '';
    for (const name of ['Content-Type', 'X-Site-Key', 'Last-Event-ID', 'X-Request-Id']) {
      expect(allowed).toContain(name);
    }
    expect(response.headers.get('vary')).toContain('Origin');
  });

  it('serves the reader config through the edge, with its preflight answered for GET', async () => {
    const preflight = await fetch(`${edge.url}/api/v1/sites/docs/config`, {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://blog.example',
        'Access-Control-Request-Method': 'GET',
        'Access-Control-Request-Headers': 'x-site-key',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-methods')).toContain('GET');
    const config = await fetch(`${edge.url}/api/v1/sites/docs/config`, {
      headers: { 'X-Site-Key': siteKey },
    });
    expect(config.status).toBe(200);
    const body = (await config.json()) as { site: { name: string; suggestions: string[] } };
    expect(body.site).toMatchObject({ name: 'docs', suggestions: [] });
    // A page the site does not allow reads the refusal (not a network error) through the edge.
    const stranger = await fetch(`${edge.url}/api/v1/sites/docs/config`, {
      headers: { 'X-Site-Key': siteKey, Origin: 'https://stranger.example' },
    });
    expect(stranger.status).toBe(403);
    expect(stranger.headers.get('access-control-allow-origin')).toBe('https://stranger.example');
    await stranger.arrayBuffer();
  });

  it('with two origins and one killed, requests keep succeeding', {
    timeout: 120_000,
  }, async () => {
    // Out of the list first: afterAll must not wait for the exit of a process already gone.
    const [killed] = origins.splice(1, 1);
    await killed!.stop('SIGKILL');
    const statuses: number[] = [];
    for (let i = 0; i < 12; i += 1) {
      const search = await fetch(`${edge.url}/api/v1/sites/docs/search`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Site-Key': siteKey },
        body: JSON.stringify({ query: 'dumps' }),
      });
      statuses.push(search.status);
      await search.arrayBuffer();
    }
    expect(statuses).toEqual(Array(12).fill(200));
    const response = await ask();
    expect(response.status).toBe(200);
    const items = await readSse(response.body!, { timeoutMs: 30_000 });
    expect(items.at(-1)!.event).toBe('done');
  });
});
