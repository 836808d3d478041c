import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retrievalStatement } from '../src/retrieval/search.js';
import { type Harness, startHarness, TEST_DB } from './harness.js';

const DOCS = [
  {
    title: 'Installing the server',
    content: '# Install\n\nInstall the server with npm. The server needs PostgreSQL and pgvector.',
  },
  {
    title: 'Backups',
    content: '# Backups\n\nThe nightly backup job runs pg_dump and keeps seven compressed dumps.',
  },
  {
    title: 'Restoring',
    content:
      '# Restore\n\nTo restore a backup, create a scratch database and load the dump into it.',
  },
  {
    title: 'Rate limits',
    content:
      '# Limits\n\nEach client may ask twenty questions a minute; the limiter lives in Redis.',
  },
  {
    title: 'Widget',
    content: '# Widget\n\nEmbed the widget with one script tag and the public site key.',
  },
];

describe(`search (${TEST_DB})`, () => {
  let h: Harness;
  beforeAll(async () => {
    // Plain BM25 here (feedback off), so the scores can be checked against the formula.
    h = await startHarness({ env: { RERANKER: 'none', SEARCH_FEEDBACK_DOCS: '0' } });
    await h.createSite('docs');
    const response = await h.request('POST', '/api/v1/sites/docs/documents', {
      json: {
        documents: DOCS.map((d) => ({
          ...d,
          url: `https://docs.test/${encodeURIComponent(d.title)}`,
        })),
      },
    });
    expect(response.status).toBe(201);
  });
  afterAll(async () => {
    await h?.close();
  });

  const search = (body: unknown, site = 'docs') =>
    h.request('POST', `/api/v1/sites/${site}/search`, { json: body });

  it('finds the passage that answers, with title, URL, heading path and a score breakdown', async () => {
    const response = await search({ query: 'how do I restore a backup dump', k: 3 });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.results[0]).toMatchObject({
      title: 'Restoring',
      url: 'https://docs.test/Restoring',
      headingPath: ['Restore'],
      text: expect.stringContaining('scratch database'),
      scores: {
        vectorRank: expect.any(Number),
        vectorSimilarity: expect.any(Number),
        fulltextRank: expect.any(Number),
        fulltextScore: expect.any(Number),
        fused: expect.any(Number),
        rerank: null,
      },
    });
    expect(body.results.length).toBeLessThanOrEqual(3);
    expect(body.noGoodAnswer).toBe(false);
  });

  it('ranks full text by BM25: the same scores as an independent computation over the stored lexemes', async () => {
    const query = 'restore backup dump database';
    const body = await (await search({ query, k: 10, mode: 'fulltext' })).json();
    const pool = h.services.db.pool;
    const { rows: terms } = await pool.query<{ lexeme: string }>(
      "select lexeme from unnest(to_tsvector('english', $1))",
      [query],
    );
    const { rows: chunks } = await pool.query<{
      id: number;
      lexemes: Array<{ lexeme: string; n: number }>;
    }>(
      `select c.id, (select json_agg(json_build_object('lexeme', u.lexeme, 'n', coalesce(array_length(u.positions, 1), 1)))
                     from unnest(c.search_vector) u) as lexemes from chunks c`,
    );
    const n = chunks.length;
    const length = (c: (typeof chunks)[number]) => c.lexemes.reduce((sum, l) => sum + l.n, 0);
    const avgdl = chunks.reduce((sum, c) => sum + length(c), 0) / n;
    const expected = new Map<number, number>();
    for (const { lexeme } of terms) {
      const df = chunks.filter((c) => c.lexemes.some((l) => l.lexeme === lexeme)).length;
      if (df === 0) continue;
      const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
      for (const c of chunks) {
        const tf = c.lexemes.find((l) => l.lexeme === lexeme)?.n ?? 0;
        if (tf === 0) continue;
        const score = (idf * tf * 2.2) / (tf + 1.2 * (1 - 0.75 + (0.75 * length(c)) / avgdl));
        expected.set(c.id, (expected.get(c.id) ?? 0) + score);
      }
    }
    const want = [...expected.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    expect(body.results.map((r: { chunkId: number }) => r.chunkId)).toEqual(want.map(([id]) => id));
    body.results.forEach(
      (r: { scores: { fulltextScore: number; fulltextRank: number } }, i: number) => {
        expect(r.scores.fulltextScore).toBeCloseTo(want[i]![1], 6);
        expect(r.scores.fulltextRank).toBe(i + 1);
      },
    );
  });

  it('searches by vector only', async () => {
    const body = await (
      await search({ query: 'embed the widget script tag', k: 2, mode: 'vector' })
    ).json();
    expect(body.results[0].title).toBe('Widget');
    expect(body.results[0].scores.fulltextRank).toBeNull();
    expect(body.results[0].scores.vectorRank).toBe(1);
  });

  it('reads a misspelt word as the documents spell it, and leaves words they hold alone', async () => {
    // "limitr" and "compresed" are in no document: full text finds them as "limiter" and "compressed".
    const typo = await (await search({ query: 'limitr', k: 1, mode: 'fulltext' })).json();
    expect(typo.results[0]?.title).toBe('Rate limits');
    // A filter ranks in SQL (not from the in-memory postings): the same correction there.
    const filtered = await (
      await search({
        query: 'limitr',
        k: 1,
        mode: 'fulltext',
        filter: { source: typo.results[0].source },
      })
    ).json();
    expect(filtered.results[0]?.title).toBe('Rate limits');
    const two = await (await search({ query: 'compresed dumps', k: 1, mode: 'fulltext' })).json();
    expect(two.results[0]?.title).toBe('Backups');
    expect(two.results[0].scores.fulltextScore).toBeGreaterThan(
      (await (await search({ query: 'dumps', k: 1, mode: 'fulltext' })).json()).results[0].scores
        .fulltextScore,
    );
  });

  it('says when nothing relevant was found', async () => {
    const body = await (await search({ query: 'zebra marmalade saxophone', k: 3 })).json();
    expect(body.noGoodAnswer).toBe(true);
    // None of the three words occurs in any passage: refused on the lexical evidence.
    expect(body.relevance).toMatchObject({ basis: 'terms', best: 3 });
  });

  it('filters on the source', async () => {
    const body = await (
      await search({ query: 'server', k: 5, filter: { source: 'https://docs.test/Backups' } })
    ).json();
    expect(body.results.map((r: { title: string }) => r.title)).toEqual(['Backups']);
  });

  it('answers empty, over-long and malformed queries with 400 and unknown sites with 404', async () => {
    for (const [body, pattern] of [
      [{ query: '' }, /^query: /],
      [{ query: '   ' }, /^query: /],
      [{ query: 'x'.repeat(1001) }, /^query: .*1000/],
      [{ query: 'ok', k: 0 }, /^k: /],
      [{ query: 'ok', k: 201 }, /^k: /],
      [{ query: 'ok', mode: 'psychic' }, /^mode: /],
      [{ query: 'ok', filter: { metadata: { a: { b: 1 } } } }, /^filter\.metadata\.a: /],
      [{ query: "'; drop table chunks; --" }, null],
    ] as const) {
      const response = await search(body);
      if (pattern === null) {
        expect(response.status).toBe(200);
        continue;
      }
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect((await response.json()).error.message).toMatch(pattern);
    }
    expect((await search({ query: 'ok' }, 'nope')).status).toBe(404);
    expect((await h.counts()).documents).toBe(DOCS.length);
  });

  it('keeps postings and per-site lexical statistics in step with the chunks through updates and deletes', async () => {
    const pool = h.services.db.pool;
    const changed = await h.request('POST', '/api/v1/sites/docs/documents', {
      json: {
        title: 'Backups',
        url: 'https://docs.test/Backups',
        content: '# Backups\n\nBackups now run hourly with WAL archiving.',
      },
    });
    expect((await changed.json()).outcome).toBe('updated');
    const list = await (await h.request('GET', '/api/v1/sites/docs/documents')).json();
    const widget = list.documents.find((d: { title: string }) => d.title === 'Widget');
    expect((await h.request('DELETE', `/api/v1/sites/docs/documents/${widget.id}`)).status).toBe(
      204,
    );
    const { rows } = await pool.query(`
      select s.lexical_chunks, (select count(*) from chunks c where c.site_id = s.id) as chunks,
             s.lexical_length, (select coalesce(sum((select sum(coalesce(array_length(u.positions, 1), 1)) from unnest(c.search_vector) u)), 0)
                                from chunks c where c.site_id = s.id) as length,
             (select count(*) from chunk_terms t where t.site_id = s.id) as postings,
             (select coalesce(sum(length(c.search_vector)), 0) from chunks c where c.site_id = s.id) as lexemes
      from sites s where s.name = 'docs'`);
    const row = rows[0];
    expect(Number(row.lexical_chunks)).toBe(Number(row.chunks));
    expect(Number(row.lexical_length)).toBe(Number(row.length));
    expect(Number(row.postings)).toBe(Number(row.lexemes));
    const body = await (
      await search({ query: 'hourly WAL archiving', k: 1, mode: 'fulltext' })
    ).json();
    expect(body.results[0].title).toBe('Backups');
  });
});

describe(`pseudo-relevance feedback (${TEST_DB})`, () => {
  const FILLER = [
    'sailing',
    'harbour',
    'cooking',
    'pastry',
    'gardening',
    'tomatoes',
    'football',
    'stadium',
    'violin',
    'concert',
  ];
  const docs = [
    {
      title: 'HNSW graphs',
      content: 'An HNSW graph index is built layer by layer; ef_construction sets its quality.',
    },
    {
      title: 'Graph tuning',
      content: 'Tune the HNSW graph with ef_construction and m before the index is built.',
    },
    {
      title: 'Build parameters',
      content: 'Raising ef_construction trades a slower build for better recall.',
    },
    ...Array.from({ length: 40 }, (_, i) => ({
      title: `Note ${i}`,
      content: `Notes on ${FILLER[i % 10]} and ${FILLER[(i + 3) % 10]}, number ${i}.`,
    })),
  ].map((d) => ({ ...d, url: `https://prf.test/${encodeURIComponent(d.title)}` }));

  const titlesFor = async (env: Record<string, string>) => {
    const h = await startHarness({ env: { RERANKER: 'none', ...env } });
    try {
      await h.createSite('prf');
      expect(
        (await h.request('POST', '/api/v1/sites/prf/documents', { json: { documents: docs } }))
          .status,
      ).toBe(201);
      const body = await (
        await h.request('POST', '/api/v1/sites/prf/search', {
          json: { query: 'hnsw graph', k: 10, mode: 'fulltext' },
        })
      ).json();
      return body.results.map((r: { title: string }) => r.title);
    } finally {
      await h.close();
    }
  };

  it('finds a passage that shares no query term but the vocabulary of the best ones', async () => {
    const plain = await titlesFor({ SEARCH_FEEDBACK_DOCS: '0' });
    expect(plain).toEqual(['HNSW graphs', 'Graph tuning']);
    const expanded = await titlesFor({});
    expect(expanded.slice(0, 2)).toEqual(['HNSW graphs', 'Graph tuning']);
    expect(expanded).toContain('Build parameters');
    expect(expanded.some((title: string) => title.startsWith('Note'))).toBe(false);
  });
});

describe(`filtered search over many chunks (${TEST_DB})`, () => {
  let h: Harness;
  const GROUPS = 100;
  const DOCS_PER_GROUP = 3;
  beforeAll(async () => {
    h = await startHarness({
      // The plans below are read with the HNSW index in place from the first write.
      env: {
        RERANKER: 'none',
        CHUNK_MAX_TOKENS: '48',
        CHUNK_OVERLAP_TOKENS: '0',
        VECTOR_INDEX_BUILD_IDLE_MS: '0',
      },
    });
    await h.createSite('many');
    const docs = Array.from({ length: GROUPS * DOCS_PER_GROUP }, (_, i) => ({
      title: `Report ${i}`,
      url: `https://many.test/${i}`,
      metadata: { group: i % GROUPS },
      content: Array.from(
        { length: 6 },
        (_, p) =>
          `## Part ${p}\n\nMeasurement ${i}-${p} of the turbine blade vibration at station ${(i * 7 + p) % 13}.`,
      ).join('\n\n'),
    }));
    for (let i = 0; i < docs.length; i += 100) {
      const response = await h.request('POST', '/api/v1/sites/many/documents', {
        json: { documents: docs.slice(i, i + 100) },
      });
      expect(response.status).toBe(201);
    }
  });
  afterAll(async () => {
    await h?.close();
  });

  it('returns k rows when a filter matching 1% of the chunks holds at least k', async () => {
    const { rows } = await h.services.db.pool.query<{ total: number; matching: number }>(
      `select count(*) as total, count(*) filter (where d.metadata @> '{"group": 42}') as matching
       from chunks c join documents d on d.id = c.document_id`,
    );
    expect(rows[0]!.matching / rows[0]!.total).toBeCloseTo(0.01, 3);
    const k = 15;
    expect(rows[0]!.matching).toBeGreaterThanOrEqual(k);
    for (const mode of ['vector', 'hybrid', 'fulltext']) {
      const response = await h.request('POST', '/api/v1/sites/many/search', {
        json: {
          query: 'turbine blade vibration measurement',
          k,
          mode,
          filter: { metadata: { group: 42 } },
        },
      });
      const body = await response.json();
      expect(body.results, mode).toHaveLength(k);
      for (const r of body.results) expect(r.url).toMatch(/\/(42|142|242)$/);
    }
  });

  it('serves filtered vector queries from the HNSW index, where iterative scans keep k rows', async () => {
    // At this size the planner rightly prefers an exact scan; turning scans off shows what the
    // index does on a large site: without iterative scans a 1% filter starves the result.
    // With fresh statistics, as on a live database after autovacuum.
    await h.services.db.pool.query('analyze chunks, documents');
    const { rows: site } = await h.services.db.pool.query<{ id: number }>(
      "select id from sites where name = 'many'",
    );
    const bound = retrievalStatement(
      { id: site[0]!.id, embeddingDim: 384 },
      { mode: 'vector', query: 'x', filter: { metadata: { group: 42 } } },
      15,
      `[${Array.from({ length: 384 }, (_, i) => (i % 7 === 0 ? 1 : 0)).join(',')}]`,
      h.services.search.settings,
    );
    const run = async (iterative: 'off' | 'relaxed_order') => {
      const client = await h.services.db.pool.connect();
      try {
        await client.query('begin');
        await client.query(
          "select set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true), set_config('enable_sort', 'off', true)",
        );
        await client.query(
          "select set_config('hnsw.ef_search', '40', true), set_config('hnsw.iterative_scan', $1, true)",
          [iterative],
        );
        const plan = await client.query(`explain ${bound.text}`, bound.values);
        const { rows } = await client.query(bound.text, bound.values);
        await client.query('rollback');
        return { plan: plan.rows.map((r) => r['QUERY PLAN']).join('\n'), count: rows.length };
      } finally {
        client.release();
      }
    };
    const iterative = await run('relaxed_order');
    expect(iterative.plan).toContain('chunks_embedding_hnsw_384');
    expect(iterative.count).toBe(15);
    const plain = await run('off');
    expect(plain.plan).toContain('chunks_embedding_hnsw_384');
    expect(plain.count).toBeLessThan(15);
  });
});
