import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyModels } from '../../scripts/make-tiny-model.js';
import { type Harness, startHarness } from './harness.js';

describe(`the transformers embedder serving the origin, on a generated tiny model (${process.env.TEST_DB ?? 'pglite'})`, () => {
  let models: string;
  let h: Harness;
  beforeAll(async () => {
    models = mkdtempSync(join(tmpdir(), 'ragedge-models-'));
    const { embedderId } = await makeTinyModels(models);
    // EMBEDDER=auto picks the model because it is on disk: the path a VPS takes after models:fetch.
    h = await startHarness({
      env: {
        EMBEDDER: 'auto',
        MODELS_DIR: models,
        EMBEDDING_MODEL: embedderId,
        EMBEDDING_DTYPE: 'fp32',
      },
    });
    await h.createSite('docs');
  });
  afterAll(async () => {
    await h?.close();
    rmSync(models, { recursive: true, force: true });
  });

  it('says in health which embedder serves, and why', async () => {
    const body = await (await h.request('GET', '/api/v1/health')).json();
    expect(body.embedder).toEqual({
      id: 'transformers:tiny/embedder',
      dimension: 32,
      reason: expect.stringContaining('found in'),
    });
  });

  it('ingests through the model and stores its vectors', async () => {
    const response = await h.request('POST', '/api/v1/sites/docs/documents', {
      json: {
        title: 'Install',
        content: '# Install\n\nInstall the server and create an index for search.',
      },
    });
    expect(response.status).toBe(201);
    const { rows } = await h.services.db.pool.query<{ dims: number; norm: number }>(
      'select vector_dims(embedding) as dims, vector_norm(embedding) as norm from chunks',
    );
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(row.dims).toBe(32);
      expect(row.norm).toBeCloseTo(1, 4);
    }
    const { site } = await (await h.request('GET', '/api/v1/sites/docs')).json();
    expect(site.embedder).toEqual({ id: 'transformers:tiny/embedder', dimension: 32 });
  });
});

describe('EMBEDDER=auto without a model', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      env: { EMBEDDER: 'auto', MODELS_DIR: join(tmpdir(), 'ragedge-no-models-here') },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('serves the offline embedder and says how to get the model', async () => {
    const body = await (await h.request('GET', '/api/v1/health')).json();
    expect(body.embedder.id).toBe('hash-v1');
    expect(body.embedder.reason).toMatch(/not found .*models:fetch/);
  });
});

describe(`the cross-encoder reranking search results, on a generated tiny model (${process.env.TEST_DB ?? 'pglite'})`, () => {
  let models: string;
  let h: Harness;
  beforeAll(async () => {
    models = mkdtempSync(join(tmpdir(), 'ragedge-models-'));
    const { rerankerId } = await makeTinyModels(models);
    h = await startHarness({
      env: {
        RERANKER: 'auto',
        MODELS_DIR: models,
        RERANK_MODEL: rerankerId,
        EMBEDDING_DTYPE: 'fp32',
        RERANK_TOP_N: '4',
      },
    });
    await h.createSite('docs');
    const documents = [
      'install the server',
      'back up the database',
      'restore a backup',
      'rate limits',
      'the widget',
      'search',
    ].map((topic, i) => ({
      title: `Page ${i}`,
      content: `# Page ${i}\n\nHow to ${topic}, step by step.`,
    }));
    expect(
      (await h.request('POST', '/api/v1/sites/docs/documents', { json: { documents } })).status,
    ).toBe(201);
  });
  afterAll(async () => {
    await h?.close();
    rmSync(models, { recursive: true, force: true });
  });

  it('is chosen by auto when the model is on disk, and says so in health', async () => {
    const body = await (await h.request('GET', '/api/v1/health')).json();
    expect(body.reranker).toEqual({
      id: 'cross-encoder:tiny/reranker',
      reason: expect.stringContaining('found in'),
    });
  });

  it('rescores the top N fused candidates and orders them by its score', async () => {
    const body = await (
      await h.request('POST', '/api/v1/sites/docs/search', {
        json: { query: 'how to restore a backup', k: 6 },
      })
    ).json();
    expect(body.reranker).toBe('cross-encoder:tiny/reranker');
    const scores = body.results.map((r: { scores: { rerank: number | null } }) => r.scores.rerank);
    const head = scores.slice(0, 4);
    for (const score of head) expect(Number.isFinite(score)).toBe(true);
    expect(head).toEqual([...head].sort((a: number, b: number) => b - a));
    for (const score of scores.slice(4)) expect(score).toBeNull();
    expect(body.relevance.basis).toBe('rerank');
  });

  it('is skipped when the request asks for no reranking', async () => {
    const body = await (
      await h.request('POST', '/api/v1/sites/docs/search', {
        json: { query: 'restore a backup', k: 3, rerank: false },
      })
    ).json();
    expect(body.reranker).toBeNull();
    for (const r of body.results) expect(r.scores.rerank).toBeNull();
  });
});
