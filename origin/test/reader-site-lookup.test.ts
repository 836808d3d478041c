import type { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness, TEST_DB } from './harness.js';
import { readSse } from './sse.js';

const PAGE = 'https://blog.example';

/** The site lookups (by name or by public key) the pool runs while `send` runs. */
async function siteLookups(pool: Pool, send: () => Promise<void>): Promise<number> {
  const query = pool.query;
  let lookups = 0;
  pool.query = ((...args: Parameters<Pool['query']>) => {
    const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string }).text;
    if (/from sites s where s\.(name|public_key) = \$1/.test(text ?? '')) lookups += 1;
    return (query as (...a: unknown[]) => unknown).apply(pool, args);
  }) as Pool['query'];
  try {
    await send();
  } finally {
    pool.query = query;
  }
  return lookups;
}

/**
 * A reader route resolves its site once: the access check loads it and keeps it on the context,
 * and the handler uses that one (it used to load it a second time).
 */
describe(`reader routes look their site up once (${TEST_DB})`, () => {
  let h: Harness;
  let key: string;

  beforeAll(async () => {
    h = await startHarness();
    const created = await h.request('POST', '/api/v1/sites', {
      json: { name: 'paris', allowedOrigins: [PAGE] },
    });
    key = (await created.json()).site.publicKey;
    const added = await h.request('POST', '/api/v1/sites/paris/documents', {
      json: { title: 'Paris', content: 'Paris is the capital of France. It lies on the Seine.' },
    });
    expect(added.status).toBe(201);
  });

  afterAll(async () => {
    await h?.close();
  });

  const reader = (path: string, json?: unknown) =>
    h.request(json === undefined ? 'GET' : 'POST', path, {
      token: null,
      headers: { origin: PAGE, 'x-site-key': key },
      json,
    });

  it.each([
    ['search by name', '/api/v1/sites/paris/search', { query: 'capital of France' }],
    ['search by key', () => `/api/v1/sites/${key}/search`, { query: 'capital of France' }],
    ['chat', '/api/v1/sites/paris/chat', { message: 'What is the capital?' }],
    ['config', '/api/v1/sites/paris/config', undefined],
  ] as const)('%s: one lookup', async (_name, path, json) => {
    const lookups = await siteLookups(h.services.db.pool, async () => {
      const response = await reader(typeof path === 'string' ? path : path(), json);
      expect(response.status).toBe(200);
      if (response.headers.get('content-type')?.startsWith('text/event-stream')) {
        const items = await readSse(response.body!, { timeoutMs: 20_000 });
        expect(items.at(-1)?.event).toBe('done');
      } else {
        await response.text();
      }
    });
    expect(lookups).toBe(1);
  });

  it('the admin token: one lookup too', async () => {
    const lookups = await siteLookups(h.services.db.pool, async () => {
      const response = await h.request('POST', '/api/v1/sites/paris/search', {
        json: { query: 'Seine' },
      });
      expect(response.status).toBe(200);
      await response.text();
    });
    expect(lookups).toBe(1);
  });

  it("answers a method a reader path does not serve as before: the reader's checks, then a 404", async () => {
    const withKey = await reader('/api/v1/sites/paris/chat');
    expect(withKey.status).toBe(404);
    expect((await withKey.json()).error.code).toBe('not_found');
    const withoutKey = await h.request('GET', '/api/v1/sites/paris/chat', {
      token: null,
      headers: { origin: PAGE },
    });
    expect(withoutKey.status).toBe(401);
    expect((await withoutKey.json()).error.message).toMatch(/X-Site-Key/);
  });
});
