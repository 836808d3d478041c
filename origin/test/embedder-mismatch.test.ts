import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HashEmbedder } from '../src/embedders/hash.js';
import { createTestDatabase, type Harness, startHarness, type TestDatabase } from './harness.js';

describe(`one embedder per site (${process.env.TEST_DB ?? 'pglite'})`, () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  const withOrigin = async (dimension: number, work: (h: Harness) => Promise<void>) => {
    // The index exists from the first write (building it after a first load: vector-index.test.ts).
    const h = await startHarness({
      database,
      embedder: new HashEmbedder({ dimension }),
      env: { VECTOR_INDEX_BUILD_IDLE_MS: '0' },
    });
    try {
      await work(h);
    } finally {
      await h.close();
    }
  };

  it('refuses writes from a different embedder, naming both, and reindex re-embeds the site', async () => {
    await withOrigin(384, async (h) => {
      await h.createSite('docs');
      const first = await h.request('POST', '/api/v1/sites/docs/documents', {
        json: { title: 'One', content: '# One\n\nFirst document about vectors.' },
      });
      expect(first.status).toBe(201);
    });

    await withOrigin(128, async (h) => {
      const before = await h.counts();
      const refused = await h.request('POST', '/api/v1/sites/docs/documents', {
        json: { title: 'Two', content: 'Second document.' },
      });
      expect(refused.status).toBe(409);
      const { error } = await refused.json();
      expect(error.code).toBe('embedder_mismatch');
      expect(error.message).toContain('hash-v1 (384 dimensions)');
      expect(error.message).toContain('hash-v1 (128 dimensions)');
      expect(error.message).toContain('reindex');
      expect(await h.counts()).toEqual(before);

      const reindex = await h.request('POST', '/api/v1/sites/docs/reindex');
      expect(reindex.status).toBe(200);
      expect((await reindex.json()).reindexed).toMatchObject({
        chunks: before.chunks,
        to: 'hash-v1',
      });
      const { rows } = await h.services.db.pool.query<{ dims: number }>(
        'select distinct vector_dims(embedding) as dims from chunks',
      );
      expect(rows).toEqual([{ dims: 128 }]);
      const { site } = await (await h.request('GET', '/api/v1/sites/docs')).json();
      expect(site.embedder).toEqual({ id: 'hash-v1', dimension: 128 });

      const accepted = await h.request('POST', '/api/v1/sites/docs/documents', {
        json: { title: 'Two', content: 'Second document.' },
      });
      expect(accepted.status).toBe(201);
      const { rows: indexes } = await h.services.db.pool.query<{ indexname: string }>(
        "select indexname from pg_indexes where tablename = 'chunks' and indexname like 'chunks_embedding_hnsw_%' order by 1",
      );
      expect(indexes.map((row) => row.indexname)).toEqual([
        'chunks_embedding_hnsw_128',
        'chunks_embedding_hnsw_384',
      ]);
    });
  });
});
