import { afterEach, describe, expect, it } from 'vitest';
import { HashEmbedder } from '../src/embedders/hash.js';
import { type Harness, startHarness, TEST_DB } from './harness.js';

const INDEX = 'chunks_embedding_hnsw_384';

/** A few documents of several chunks each. */
function documents(prefix: string, count: number) {
  return Array.from({ length: count }, (_, i) => ({
    title: `${prefix} ${i}`,
    url: `https://vectors.test/${prefix}/${i}`,
    content: Array.from(
      { length: 4 },
      (_, p) =>
        `## Part ${p}\n\n${prefix} report ${i}: turbine blade ${p} vibrates at ${i * 7 + p} Hz.`,
    ).join('\n\n'),
  }));
}

// Several origins boot per test: PGlite on 2 shared cores needs more than the default minute.
describe(`vector index built after a first bulk load (${TEST_DB})`, { timeout: 240_000 }, () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  const indexOid = async (harness: Harness) => {
    const { rows } = await harness.services.db.pool.query<{ oid: number; valid: boolean }>(
      `select c.oid::int8::float8 as oid, i.indisvalid as valid
       from pg_class c join pg_index i on i.indexrelid = c.oid where c.relname = $1`,
      [INDEX],
    );
    return rows[0] ?? null;
  };
  const ingest = async (harness: Harness, site: string, prefix: string, count: number) => {
    const response = await harness.request('POST', `/api/v1/sites/${site}/documents`, {
      json: { documents: documents(prefix, count) },
    });
    expect(response.status, await response.clone().text()).toBe(201);
  };
  const search = async (harness: Harness, site: string) => {
    const response = await harness.request('POST', `/api/v1/sites/${site}/search`, {
      json: { query: 'turbine blade 3 vibration', k: 5, mode: 'vector', rerank: false },
    });
    expect(response.status).toBe(200);
    return ((await response.json()).results as Array<{ chunkId: number }>).map((r) => r.chunkId);
  };
  const waitForIndex = async (harness: Harness) => {
    for (let i = 0; i < 200; i += 1) {
      const index = await indexOid(harness);
      if (index !== null) return index;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('the vector index was never built');
  };

  it('loads the first vectors without the index, builds it once, then maintains it', async () => {
    // A pause far longer than the test: the build comes from `flush` (the timer is tested below).
    h = await startHarness({ env: { RERANKER: 'none', VECTOR_INDEX_BUILD_IDLE_MS: '600000' } });
    await h.createSite('first');
    await ingest(h, 'first', 'a', 10);
    await ingest(h, 'first', 'b', 10);
    // Still loading: no index, and searches compare every vector meanwhile.
    expect(await indexOid(h)).toBeNull();
    const exact = await search(h, 'first');
    expect(exact).toHaveLength(5);

    await h.services.vectorIndexes.flush();
    const built = await indexOid(h);
    expect(built?.valid).toBe(true);
    expect(await search(h, 'first')).toEqual(exact);

    // The table now holds 384-d vectors: another site's first ingest keeps the shared index.
    await h.createSite('second');
    await ingest(h, 'second', 'c', 5);
    expect(await indexOid(h)).toEqual(built!);
    const { rows } = await h.services.db.pool.query<{ n: number }>(
      `select count(*)::float8 as n from chunks where vector_dims(embedding) = 384`,
    );
    expect(rows[0]!.n).toBe(25 * 4);
  });

  it('builds the deferred index once the writes pause', async () => {
    h = await startHarness({ env: { RERANKER: 'none', VECTOR_INDEX_BUILD_IDLE_MS: '200' } });
    await h.createSite('paused');
    await ingest(h, 'paused', 'a', 3);
    expect((await waitForIndex(h)).valid).toBe(true);
  });

  it('creates the index before the first write when deferral is off', async () => {
    h = await startHarness({ env: { RERANKER: 'none', VECTOR_INDEX_BUILD_IDLE_MS: '0' } });
    await h.createSite('eager');
    await ingest(h, 'eager', 'a', 3);
    expect((await indexOid(h))?.valid).toBe(true);
  });

  it('a reindex rebuilds the index after its rewrite only when no other site has vectors of its dimension', async () => {
    h = await startHarness({
      env: { RERANKER: 'none', VECTOR_INDEX_BUILD_IDLE_MS: '0' },
      embedder: new HashEmbedder({ dimension: 384 }),
    });
    await h.createSite('alone');
    await ingest(h, 'alone', 'a', 8);
    const before = await indexOid(h);
    const found = await search(h, 'alone');

    // The only site of its dimension: the index is dropped and built once after the rewrite.
    const alone = await h.request('POST', '/api/v1/sites/alone/reindex');
    expect(alone.status).toBe(200);
    const rebuilt = await indexOid(h);
    expect(rebuilt?.valid).toBe(true);
    expect(rebuilt!.oid).not.toBe(before!.oid);
    expect(await search(h, 'alone')).toEqual(found);

    // Another site shares the index: it is kept and maintained row by row.
    await h.createSite('other');
    await ingest(h, 'other', 'b', 3);
    const shared = await h.request('POST', '/api/v1/sites/alone/reindex');
    expect(shared.status).toBe(200);
    expect(await indexOid(h)).toEqual(rebuilt);
    expect(await search(h, 'alone')).toEqual(found);
  });
});
