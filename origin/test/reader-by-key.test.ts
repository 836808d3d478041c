import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness, TEST_DB } from './harness.js';
import { readSse } from './sse.js';

const PAGE = 'https://blog.example';

/**
 * The one-attribute widget embed (`data-site="pk_…"`): chat and search take a site's public key
 * in place of its name, under the same rules as the name: the key in the header must be that
 * site's, and the page's origin one the site allows.
 */
describe(`reader routes named by the site's public key (${TEST_DB})`, () => {
  let h: Harness;
  let key: string;
  let otherKey: string;

  beforeAll(async () => {
    h = await startHarness();
    const created = await h.request('POST', '/api/v1/sites', {
      json: { name: 'paris', allowedOrigins: [PAGE] },
    });
    key = (await created.json()).site.publicKey;
    const other = await h.request('POST', '/api/v1/sites', { json: { name: 'other' } });
    otherKey = (await other.json()).site.publicKey;
    const added = await h.request('POST', '/api/v1/sites/paris/documents', {
      json: { title: 'Paris', content: 'Paris is the capital of France. It lies on the Seine.' },
    });
    expect(added.status).toBe(201);
  });

  afterAll(async () => {
    await h?.close();
  });

  const reader = (path: string, headerKey: string, json: unknown, origin = PAGE) =>
    h.request('POST', path, { token: null, headers: { origin, 'x-site-key': headerKey }, json });

  it('searches and chats with the key as the site', async () => {
    const search = await reader(`/api/v1/sites/${key}/search`, key, { query: 'capital of France' });
    expect(search.status).toBe(200);
    expect(search.headers.get('access-control-allow-origin')).toBe(PAGE);
    const { results } = await search.json();
    expect(results[0].title).toBe('Paris');

    const chat = await reader(`/api/v1/sites/${key}/chat`, key, {
      message: 'What is the capital?',
    });
    expect(chat.status).toBe(200);
    const items = await readSse(chat.body!, { timeoutMs: 20_000 });
    expect(items.at(-1)?.event).toBe('done');
    const { rows } = await h.services.db.pool.query<{ name: string }>(
      'select s.name from conversations c join sites s on s.id = c.site_id',
    );
    expect(rows.map((row) => row.name)).toEqual(['paris']);
  });

  it('holds the same rules: unknown key 404, another site key 403, a disallowed page 403', async () => {
    const unknown = `pk_${'A'.repeat(24)}`;
    const missing = await reader(`/api/v1/sites/${unknown}/search`, unknown, { query: 'x' });
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.code).toBe('not_found');
    const mismatched = await reader(`/api/v1/sites/${key}/search`, otherKey, { query: 'x' });
    expect(mismatched.status).toBe(403);
    const elsewhere = await reader(
      `/api/v1/sites/${key}/search`,
      key,
      { query: 'x' },
      'https://evil.example',
    );
    expect(elsewhere.status).toBe(403);
    expect((await elsewhere.json()).error.message).toContain('https://evil.example');
  });
});
