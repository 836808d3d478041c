import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rankLexical } from '../src/retrieval/bm25.js';
import { LexicalIndexes, loadPostingsIndex } from '../src/retrieval/lexical-indexes.js';
import type { PostingsIndex } from '../src/retrieval/postings-index.js';
import { retrievalStatement, type SearchSettings } from '../src/retrieval/search.js';
import { LEXICAL_STATE_SQL } from '../src/retrieval/sql.js';
import { parseSmart } from '../tools/eval/smart.js';
import { type Harness, startHarness, TEST_DB } from './harness.js';

const IR_DATA = fileURLToPath(new URL('../../../shared/data/ir/cranfield/', import.meta.url));
/** A slice of Cranfield: enough vocabulary for feedback to matter, small enough for CI. */
const DOCUMENTS = 300;
const QUERIES = 40;
const DEPTH = 50;

describe(`in-memory BM25 postings (${TEST_DB})`, () => {
  let h: Harness;
  let siteId: number;
  const queries = parseSmart(readFileSync(`${IR_DATA}cran.qry`, 'utf8'))
    .slice(0, QUERIES)
    .map((q) => (q.fields.W ?? '').replace(/\s+/g, ' ').trim());

  beforeAll(async () => {
    h = await startHarness({ env: { RERANKER: 'none' } });
    await h.createSite('cran');
    const records = parseSmart(readFileSync(`${IR_DATA}cran.all.1400`, 'utf8')).slice(0, DOCUMENTS);
    const documents = records
      .map((r, i) => ({
        title: `Abstract ${i}`,
        url: `https://cran.test/${i}`,
        content: r.fields.W ?? '',
        format: 'text',
      }))
      .filter((d) => d.content.trim() !== '');
    for (let start = 0; start < documents.length; start += 100) {
      const response = await h.request('POST', '/api/v1/sites/cran/documents', {
        json: { documents: documents.slice(start, start + 100) },
      });
      expect(response.status, await response.clone().text()).toBe(201);
    }
    const { rows } = await h.services.db.pool.query<{ id: number }>(
      "select id from sites where name = 'cran'",
    );
    siteId = rows[0]!.id;
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });

  const sqlList = async (query: string, settings: SearchSettings) => {
    const bound = retrievalStatement(
      { id: siteId, embeddingDim: 384 },
      { mode: 'fulltext', query },
      DEPTH,
      null,
      settings,
    );
    const { rows } = await h.services.db.pool.query<{ id: number; score: number }>(
      bound.text,
      bound.values,
    );
    return rows.map((r) => ({ id: r.id, score: r.score }));
  };
  const queryTerms = async (query: string) => {
    const bound = retrievalStatement(
      { id: siteId, embeddingDim: 384 },
      { mode: 'fulltext', query },
      DEPTH,
      null,
      h.services.search.settings,
    );
    // The lexical query text, as the service sends it (the statement's `:query`).
    const text = bound.values.find((v) => typeof v === 'string' && v !== '' && !v.startsWith('['));
    const { rows } = await h.services.db.pool.query<{ terms: string[] }>(LEXICAL_STATE_SQL, [
      siteId,
      text,
      '40',
    ]);
    return rows[0]!.terms;
  };
  const expectSameRanking = (
    memory: Array<{ id: number; score: number }>,
    sql: Array<{ id: number; score: number }>,
    query: string,
  ) => {
    expect(
      memory.map((r) => r.id),
      query,
    ).toEqual(sql.map((r) => r.id));
    for (const [i, r] of memory.entries()) {
      expect(Math.abs(r.score - sql[i]!.score), query).toBeLessThanOrEqual(
        1e-9 * Math.max(1, Math.abs(sql[i]!.score)),
      );
    }
  };

  it('gives the same top 50 with the same scores as the SQL definition, with and without feedback', async () => {
    const loaded = await loadPostingsIndex(h.services.db.pool, siteId, 64 * 2 ** 20);
    expect(loaded).not.toBeNull();
    expect(loaded).not.toBe('too_large');
    const index = loaded as PostingsIndex;
    const base = h.services.search.settings;
    expect(base.feedbackDocs).toBeGreaterThan(0);
    let compared = 0;
    for (const settings of [base, { ...base, feedbackDocs: 0 }]) {
      const feedback = settings.feedbackDocs > 0;
      for (const query of queries) {
        const sql = await sqlList(query, settings);
        const memory = rankLexical(
          index,
          await queryTerms(query),
          {
            k1: settings.bm25K1,
            b: settings.bm25B,
            feedbackDocs: settings.feedbackDocs,
            feedbackTerms: settings.feedbackTerms,
            originalWeight: feedback ? settings.originalWeight : 1,
          },
          DEPTH,
        );
        expectSameRanking(memory, sql, query);
        compared += sql.length;
      }
    }
    expect(compared).toBeGreaterThan(QUERIES * DEPTH);
  });

  it('answers the search API from memory with the lists SQL gives', async () => {
    const indexes = h.services.search.lexicalIndexes!;
    const search = async (query: string) => {
      const response = await h.request('POST', '/api/v1/sites/cran/search', {
        json: { query, k: 20, mode: 'fulltext' },
      });
      expect(response.status).toBe(200);
      const body = await response.json();
      return body.results.map((r: { chunkId: number; scores: { fulltextScore: number } }) => ({
        id: r.chunkId,
        score: r.scores.fulltextScore,
      }));
    };
    await search(queries[0]!);
    await indexes.settled();
    expect(indexes.bytes).toBeGreaterThan(0);
    for (const query of queries.slice(0, 10)) {
      const sql = (await sqlList(query, h.services.search.settings)).slice(0, 20);
      expectSameRanking(await search(query), sql, query);
    }
  });

  it('never serves a version it was not loaded at: another origin ranks in SQL until it reloads', async () => {
    // A second origin over the same database: nothing tells it about writes but the version.
    const other = new LexicalIndexes({ pool: h.services.db.pool, maxBytes: 64 * 2 ** 20 });
    const state = async () => {
      const { rows } = await h.services.db.pool.query<{
        version: number;
        lexical_chunks: number;
        lexical_length: number;
      }>(LEXICAL_STATE_SQL, [siteId, 'x', '40']);
      const row = rows[0]!;
      return {
        version: row.version,
        lexicalChunks: row.lexical_chunks,
        lexicalLength: row.lexical_length,
      };
    };
    const before = await state();
    expect(other.current(siteId, before)).toBeNull();
    await other.settled();
    expect(other.current(siteId, before)?.version).toBe(before.version);

    const response = await h.request('POST', '/api/v1/sites/cran/documents', {
      json: {
        documents: [
          { title: 'Zeppelin', url: 'https://cran.test/z', content: 'A zeppelin hangar door.' },
        ],
      },
    });
    expect(response.status).toBe(201);
    const after = await state();
    expect(after.version).toBeGreaterThan(before.version);
    expect(other.current(siteId, after)).toBeNull();
    // This origin's service: stale index, so the list comes from SQL and holds the new chunk.
    const found = await h.request('POST', '/api/v1/sites/cran/search', {
      json: { query: 'zeppelin hangar', k: 3, mode: 'fulltext' },
    });
    expect((await found.json()).results[0]?.title).toBe('Zeppelin');
    await other.settled();
    const reloaded = other.current(siteId, after);
    expect(reloaded?.version).toBe(after.version);
    expect(reloaded!.terms.has('zeppelin')).toBe(true);
  });

  it('holds no site larger than its memory budget, and ranks it in SQL', async () => {
    const tiny = new LexicalIndexes({ pool: h.services.db.pool, maxBytes: 10_000 });
    const { rows } = await h.services.db.pool.query<{
      version: number;
      lexical_chunks: number;
      lexical_length: number;
    }>(LEXICAL_STATE_SQL, [siteId, 'x', '40']);
    const state = {
      version: rows[0]!.version,
      lexicalChunks: rows[0]!.lexical_chunks,
      lexicalLength: rows[0]!.lexical_length,
    };
    expect(tiny.current(siteId, state)).toBeNull();
    await tiny.settled();
    expect(tiny.current(siteId, state)).toBeNull();
    expect(tiny.bytes).toBe(0);
    expect(await loadPostingsIndex(h.services.db.pool, siteId, 10_000)).toBe('too_large');
  });
});
