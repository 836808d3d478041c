import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness, TEST_DB } from './harness.js';

const PAGE = 'https://blog.example';

/**
 * Per-site settings (`PATCH … { settings }`) and the reader config route that the widget and the
 * chat site read: what readers may see of a site, from an allowed origin with its public key.
 */
describe(`site settings and the reader config (${TEST_DB})`, () => {
  let h: Harness;
  let key: string;

  beforeAll(async () => {
    h = await startHarness();
    const created = await h.request('POST', '/api/v1/sites', {
      json: { name: 'guide', title: 'The Guide', allowedOrigins: [PAGE] },
    });
    key = (await created.json()).site.publicKey;
  });

  afterAll(async () => {
    await h?.close();
  });

  const config = (site: string, headers: Record<string, string>) =>
    h.request('GET', `/api/v1/sites/${site}/config`, { token: null, headers });

  it('gives a new site empty reader settings and its title', async () => {
    const response = await config('guide', { origin: PAGE, 'x-site-key': key });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(PAGE);
    expect(response.headers.get('cache-control')).toBe('private, max-age=60');
    expect(response.headers.get('vary')).toMatch(/Origin.*X-Site-Key|X-Site-Key.*Origin/);
    expect(await response.json()).toEqual({
      site: { name: 'guide', title: 'The Guide', suggestions: [], handoffUrl: null, lang: null },
    });
  });

  it('merges settings on PATCH, removes a key set to null, and never shows the webhook to readers', async () => {
    const first = await h.request('PATCH', '/api/v1/sites/guide', {
      json: {
        settings: {
          suggestions: ['  How do I install it?  ', 'Where are backups kept?'],
          handoffUrl: 'mailto:help@example.com',
          webhookUrl: 'https://hooks.example/rag',
        },
      },
    });
    expect(first.status).toBe(200);
    expect((await first.json()).site.settings).toEqual({
      suggestions: ['How do I install it?', 'Where are backups kept?'],
      handoffUrl: 'mailto:help@example.com',
      webhookUrl: 'https://hooks.example/rag',
    });
    const second = await h.request('PATCH', '/api/v1/sites/guide', {
      json: { settings: { lang: 'fr-CA', handoffUrl: null } },
    });
    const { site } = await second.json();
    expect(site.settings).toEqual({
      suggestions: ['How do I install it?', 'Where are backups kept?'],
      lang: 'fr-CA',
      webhookUrl: 'https://hooks.example/rag',
    });
    expect(site.title).toBe('The Guide');

    const response = await config(key, { origin: PAGE, 'x-site-key': key });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toEqual({
      site: {
        name: 'guide',
        title: 'The Guide',
        suggestions: ['How do I install it?', 'Where are backups kept?'],
        handoffUrl: null,
        lang: 'fr-CA',
      },
    });
    expect(JSON.stringify(body)).not.toContain('hooks.example');
    expect(JSON.stringify(body)).not.toContain(key);
  });

  it('refuses settings that are not what readers can safely be given', async () => {
    const bad: unknown[] = [
      { handoffUrl: 'javascript:alert(1)' },
      { handoffUrl: 'http://plain.example/help' },
      { webhookUrl: 'http://hooks.example' },
      { suggestions: ['ok', ''] },
      { suggestions: Array.from({ length: 9 }, (_, i) => `Question ${i}?`) },
      { suggestions: ['x'.repeat(201)] },
      { suggestions: ['nul \u0000 here'] },
      { suggestions: ['half a pair \ud800 here'] },
      { lang: 'english please' },
      { colour: 'red' },
      'not an object',
    ];
    for (const settings of bad) {
      const response = await h.request('PATCH', '/api/v1/sites/guide', { json: { settings } });
      expect(response.status, JSON.stringify(settings)).toBe(400);
      const { error } = await response.json();
      expect(error.code).toBe('validation_failed');
      expect(error.message).toMatch(/^settings/);
    }
  });

  it('is refused without the key, with another key, or from an origin the site does not allow', async () => {
    const other = await h.request('POST', '/api/v1/sites', { json: { name: 'other' } });
    const otherKey = (await other.json()).site.publicKey;
    const noKey = await config('guide', { origin: PAGE });
    expect(noKey.status).toBe(401);
    const wrongKey = await config('guide', { origin: PAGE, 'x-site-key': otherKey });
    expect(wrongKey.status).toBe(403);
    const stranger = await config('guide', {
      origin: 'https://stranger.example',
      'x-site-key': key,
    });
    expect(stranger.status).toBe(403);
    // The refusal is readable by the page, so the widget can say "not enabled on this site".
    expect(stranger.headers.get('access-control-allow-origin')).toBe('https://stranger.example');
    const { error } = await stranger.json();
    expect(error.code).toBe('forbidden');
    const missing = await config('nosuchsite', { origin: PAGE, 'x-site-key': key });
    expect(missing.status).toBe(404);
  });

  it('answers the preflight of a cross-origin GET', async () => {
    const response = await h.request('OPTIONS', '/api/v1/sites/guide/config', {
      token: null,
      headers: {
        origin: PAGE,
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'x-site-key',
      },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-methods')).toContain('GET');
    expect(response.headers.get('access-control-allow-origin')).toBe(PAGE);
  });
});
