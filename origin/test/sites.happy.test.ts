import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { siteKeys } from '../src/store/sites.js';
import { type Harness, startHarness } from './harness.js';

describe(`sites (${process.env.TEST_DB ?? 'pglite'})`, () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('creates a site with a public key and allowed origins', async () => {
    const response = await h.request('POST', '/api/v1/sites', {
      json: {
        name: 'docs',
        title: 'Our docs',
        allowedOrigins: ['https://example.com', 'http://localhost:3000'],
      },
    });
    expect(response.status).toBe(201);
    const { site } = await response.json();
    expect(site).toMatchObject({
      name: 'docs',
      title: 'Our docs',
      allowedOrigins: ['https://example.com', 'http://localhost:3000'],
      embedder: null,
    });
    expect(site.publicKey).toMatch(/^pk_[A-Za-z0-9_-]{24}$/);
  });

  it('lists sites with document and chunk counts', async () => {
    const response = await h.request('GET', '/api/v1/sites');
    expect(response.status).toBe(200);
    const { sites } = await response.json();
    expect(sites).toEqual([
      expect.objectContaining({ name: 'docs', documentCount: 0, chunkCount: 0 }),
    ]);
  });

  it('gives the start banner the first sites by name with their keys, and the total', async () => {
    for (const name of ['zeta', 'alpha'])
      expect((await h.request('POST', '/api/v1/sites', { json: { name } })).status).toBe(201);
    const first = await siteKeys(h.services.db.pool, 2);
    expect(first.total).toBe(3);
    expect(first.sites.map((site) => site.name)).toEqual(['alpha', 'docs']);
    expect(first.sites[0]!.publicKey).toMatch(/^pk_[A-Za-z0-9_-]{24}$/);
    expect(first.sites[0]!.embedder).toBeNull();
    for (const name of ['zeta', 'alpha'])
      expect((await h.request('DELETE', `/api/v1/sites/${name}`)).status).toBe(204);
  });

  it('refuses a second site with the same name', async () => {
    const response = await h.request('POST', '/api/v1/sites', { json: { name: 'docs' } });
    expect(response.status).toBe(409);
    expect((await response.json()).error.code).toBe('conflict');
  });

  it('updates allowed origins and rotates the public key', async () => {
    const before = (await (await h.request('GET', '/api/v1/sites/docs')).json()).site;
    const response = await h.request('PATCH', '/api/v1/sites/docs', {
      json: { allowedOrigins: ['https://other.example'], rotatePublicKey: true },
    });
    expect(response.status).toBe(200);
    const { site } = await response.json();
    expect(site.allowedOrigins).toEqual(['https://other.example']);
    expect(site.publicKey).not.toBe(before.publicKey);
    expect(site.title).toBe('Our docs');
  });

  it('refuses origins that are not bare origins', async () => {
    for (const origin of ['https://example.com/path', 'javascript:alert(1)', 'example.com', '*']) {
      const response = await h.request('PATCH', '/api/v1/sites/docs', {
        json: { allowedOrigins: [origin] },
      });
      expect(response.status, origin).toBe(400);
      expect((await response.json()).error.message).toMatch(/^allowedOrigins\.0: /);
    }
  });

  it('deletes a site with its documents', async () => {
    await h.createSite('temp');
    const ingest = await h.request('POST', '/api/v1/sites/temp/documents', {
      json: { title: 'A page', content: '# A page\n\nSome words about deletion.' },
    });
    expect(ingest.status).toBe(201);
    expect(await h.counts()).toEqual({ documents: 1, chunks: 1 });
    expect((await h.request('DELETE', '/api/v1/sites/temp')).status).toBe(204);
    expect(await h.counts()).toEqual({ documents: 0, chunks: 0 });
    expect((await h.request('GET', '/api/v1/sites/temp')).status).toBe(404);
  });
});
