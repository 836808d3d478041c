/**
 * Search latency against the cost of its index: for sites of about 5k, 50k and 200k chunks (one
 * database, one run), p50 and p95 of the hybrid search API (no reranking, no model inference:
 * the `hash` embedder) next to the bare pgvector kNN it contains (the same statement with a
 * precomputed query vector, in its ef_search transaction), query by query back to back so that
 * noise on the shared machine falls on both. Also per site: the lexical list ranked in SQL (the
 * fallback path) on a sample, the in-memory postings' load time and size, and the process RSS
 * once they are held. Targets: hybrid p50 ≤ 3× the kNN p50 at 50k; hybrid p50 grows ≤ 2.5× from
 * 50k to 200k.
 *
 *   eval "$(bash scripts/services.sh env)" && npm run bench:search -- --db postgres
 *   npm run bench:search -- --db pglite --sizes 50000
 *
 * Writes bench/results/search-<db>.json.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { rankLexical } from '../origin/src/retrieval/bm25.js';
import { lexicalQueryText } from '../origin/src/retrieval/query-text.js';
import { retrievalStatement } from '../origin/src/retrieval/search.js';
import { LEXICAL_STATE_SQL } from '../origin/src/retrieval/sql.js';
import { vectorLiteral } from '../origin/src/store/chunks.js';
import { createTestDatabase, type Harness, startHarness } from '../origin/test/harness.js';
import { parseSmart } from '../origin/tools/eval/smart.js';
import { loadSite } from './lib/copy-site.js';
import { machineInfo } from './lib/machine.js';

const { values } = parseArgs({
  options: {
    db: { type: 'string', default: 'postgres' },
    sizes: { type: 'string', default: '5000,50000,200000' },
    rounds: { type: 'string', default: '2' },
    /** Queries of the SQL-ranked lexical sample per site (it is slow at 200k). */
    'sql-sample': { type: 'string', default: '40' },
    /**
     * Chunks of each site ingested through the API; the rest are copies of those documents made
     * in SQL (same texts and vectors, new sources), through the same triggers and indexes. The
     * API path on 2 shared cores ingests ~50 chunks/s under load: 200k that way takes over an hour.
     */
    'api-chunks': { type: 'string', default: '5000' },
  },
});
const kind = values.db === 'pglite' ? 'pglite' : 'postgres';
const sizes = values.sizes!.split(',').map(Number);
const rounds = Number(values.rounds);
const sqlSample = Number(values['sql-sample']);
const apiChunks = Number(values['api-chunks']);
const DATA = new URL('../../shared/data/ir/', import.meta.url).pathname;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function stats(list: number[]) {
  const sorted = [...list].sort((a, b) => a - b);
  return {
    p50: round2(percentile(sorted, 50)),
    p95: round2(percentile(sorted, 95)),
    n: sorted.length,
  };
}

/** Per-site probes of one run: each takes a query and returns milliseconds. */
interface Probes {
  site: string;
  api: (query: string) => Promise<number>;
  knn: (query: string) => Promise<number>;
  sql: (query: string) => Promise<number>;
  /** The in-memory lexical list alone (pruned, then exhaustive), and whether they agreed. */
  lexical: (query: string) => Promise<{ pruned: number; exhaustive: number; same: boolean }>;
}

async function probes(
  h: Harness,
  site: string,
  siteId: number,
  queries: string[],
): Promise<Probes> {
  const pool = h.services.db.pool;
  const settings = h.services.search.settings;
  const indexes = h.services.search.lexicalIndexes!;
  const vectors = new Map<string, string>();
  const terms = new Map<string, string[]>();
  for (const q of queries) {
    vectors.set(q, vectorLiteral((await h.services.embedder.embed([q]))[0]!));
    const { rows } = await pool.query<{ terms: string[] }>(LEXICAL_STATE_SQL, [
      siteId,
      lexicalQueryText(q),
      '50',
    ]);
    terms.set(q, rows[0]!.terms);
  }
  const params = {
    k1: settings.bm25K1,
    b: settings.bm25B,
    feedbackDocs: settings.feedbackDocs,
    feedbackTerms: settings.feedbackTerms,
    originalWeight:
      settings.feedbackDocs > 0 && settings.feedbackTerms > 0 ? settings.originalWeight : 1,
  };
  return {
    site,
    knn: async (query) => {
      const bound = retrievalStatement(
        { id: siteId, embeddingDim: 384 },
        { mode: 'vector', query },
        50,
        vectors.get(query)!,
        settings,
      );
      const client = await pool.connect();
      try {
        const started = performance.now();
        await client.query('begin');
        await client.query(
          "select set_config('hnsw.ef_search', '50', true), set_config('hnsw.iterative_scan', 'relaxed_order', true)",
        );
        await client.query(bound.text, bound.values);
        await client.query('commit');
        return performance.now() - started;
      } finally {
        client.release();
      }
    },
    sql: async (query) => {
      const bound = retrievalStatement(
        { id: siteId, embeddingDim: 384 },
        { mode: 'fulltext', query },
        50,
        null,
        settings,
      );
      const started = performance.now();
      await pool.query(bound.text, bound.values);
      return performance.now() - started;
    },
    api: async (query) => {
      const started = performance.now();
      const response = await h.request('POST', `/api/v1/sites/${site}/search`, {
        json: { query, k: 10, mode: 'hybrid', rerank: false },
      });
      if (response.status !== 200) throw new Error(`search failed: ${await response.text()}`);
      await response.json();
      return performance.now() - started;
    },
    lexical: async (query) => {
      const { rows } = await pool.query<{
        version: number;
        lexical_chunks: number;
        lexical_length: number;
      }>(LEXICAL_STATE_SQL, [siteId, 'x', '50']);
      const index = indexes.current(siteId, {
        version: rows[0]!.version,
        lexicalChunks: rows[0]!.lexical_chunks,
        lexicalLength: rows[0]!.lexical_length,
      });
      if (index === null) throw new Error(`${site}: the postings are not held`);
      const t0 = performance.now();
      const pruned = rankLexical(index, terms.get(query)!, params, 50, 'pruned');
      const t1 = performance.now();
      const exhaustive = rankLexical(index, terms.get(query)!, params, 50, 'exhaustive');
      const t2 = performance.now();
      const same =
        pruned.length === exhaustive.length &&
        pruned.every(
          (hit, i) => hit.id === exhaustive[i]!.id && hit.score === exhaustive[i]!.score,
        );
      return { pruned: t1 - t0, exhaustive: t2 - t1, same };
    },
  };
}

/** Loads a site's postings through its first search and reports their cost. */
async function holdIndex(h: Harness, p: Probes, first: string) {
  const indexes = h.services.search.lexicalIndexes!;
  const before = indexes.bytes;
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  const loadStarted = performance.now();
  await p.api(first);
  await indexes.settled();
  const indexLoadMs = round2(performance.now() - loadStarted);
  global.gc?.();
  const rssHeld = process.memoryUsage().rss;
  const held = indexes.bytes - before;
  if (held <= 0) throw new Error(`${p.site}: the postings were not loaded (over the budget?)`);
  return {
    indexLoadMs,
    indexMiB: round2(held / 2 ** 20),
    rssBeforeLoadMiB: round2(rssBefore / 2 ** 20),
    rssHoldingIndexMiB: round2(rssHeld / 2 ** 20),
  };
}

/**
 * Every site measured in the same rounds, query by query: for each query, the hybrid API and
 * the bare kNN on every site in turn (the order rotating), so that the machine's load at any
 * moment falls on every site and both paths alike and the ratios between sites mean something.
 */
async function measureAll(all: Probes[], queries: string[]) {
  const times = all.map(() => ({
    api: [] as number[],
    knn: [] as number[],
    sql: [] as number[],
    pruned: [] as number[],
    exhaustive: [] as number[],
    differing: 0,
  }));
  for (const q of queries.slice(0, 20)) {
    for (const p of all) {
      await p.api(q);
      await p.knn(q);
    }
  }
  for (let round = 0; round < rounds; round += 1) {
    for (const [i, q] of queries.entries()) {
      for (let s = 0; s < all.length; s += 1) {
        const at = (s + i + round) % all.length;
        const p = all[at]!;
        const t = times[at]!;
        if ((i + round) % 2 === 0) {
          t.api.push(await p.api(q));
          t.knn.push(await p.knn(q));
        } else {
          t.knn.push(await p.knn(q));
          t.api.push(await p.api(q));
        }
        const lexical = await p.lexical(q);
        t.pruned.push(lexical.pruned);
        t.exhaustive.push(lexical.exhaustive);
        if (!lexical.same) t.differing += 1;
      }
    }
  }
  for (const q of queries.slice(0, sqlSample)) {
    for (const [at, p] of all.entries()) times[at]!.sql.push(await p.sql(q));
  }
  return times.map((t) => {
    const hybrid = stats(t.api);
    const bare = stats(t.knn);
    return {
      hybridApiMs: hybrid,
      bareKnnMs: bare,
      hybridOverKnn: round2(hybrid.p50 / bare.p50),
      lexicalPrunedMs: stats(t.pruned),
      lexicalExhaustiveMs: stats(t.exhaustive),
      lexicalListsDiffering: t.differing,
      sqlLexicalMs: stats(t.sql),
    };
  });
}

async function main() {
  const cran = parseSmart(readFileSync(`${DATA}cranfield/cran.all.1400`, 'utf8'));
  const med = parseSmart(readFileSync(`${DATA}medline/MED.ALL`, 'utf8'));
  const abstracts = [...cran, ...med]
    .map((r) => r.fields.W ?? '')
    .filter((t) => t.trim().length > 40);
  const queries = [
    ...parseSmart(readFileSync(`${DATA}cranfield/cran.qry`, 'utf8')),
    ...parseSmart(readFileSync(`${DATA}medline/MED.QRY`, 'utf8')),
  ].map((q) => (q.fields.W ?? '').replace(/\s+/g, ' ').trim());

  const database = await createTestDatabase(kind);
  const h = await startHarness({
    database,
    env: {
      EMBEDDER: 'hash',
      RERANKER: 'none',
      CHUNK_MAX_TOKENS: '128',
      CHUNK_OVERLAP_TOKENS: '0',
      DB_STATEMENT_TIMEOUT_MS: '600000',
    },
  });
  try {
    const sites: Record<string, Record<string, unknown>> = {};
    const loaded: Array<{ size: number; name: string; siteId: number }> = [];
    for (const size of sizes) {
      const name = `bench-${size}`;
      const site = await loadSite(h, name, size, abstracts, apiChunks);
      sites[String(size)] = { chunks: site.chunks, loadSeconds: site.loadSeconds };
      loaded.push({ size, name, siteId: site.siteId });
    }
    await h.services.db.pool.query('analyze');
    const all: Probes[] = [];
    for (const site of loaded) {
      const p = await probes(h, site.name, site.siteId, queries);
      Object.assign(sites[String(site.size)]!, await holdIndex(h, p, queries[0]!));
      all.push(p);
    }
    const measured = await measureAll(all, queries);
    for (const [i, site] of loaded.entries()) {
      Object.assign(sites[String(site.size)]!, measured[i]);
      process.stderr.write(`${site.name}: ${JSON.stringify(sites[String(site.size)])}\n`);
    }
    const at = (size: number) =>
      sites[String(size)] as { hybridApiMs: { p50: number }; bareKnnMs: { p50: number } };
    const main50k = sites['50000'] === undefined ? null : at(50000);
    const result = {
      name: `search-${kind}`,
      command: `npm run bench:search -- --db ${kind} --sizes ${values.sizes} --rounds ${rounds} --sql-sample ${sqlSample} --api-chunks ${apiChunks}`,
      loading: `each site: ${apiChunks} chunks through the ingestion API, the rest copies of those documents made in SQL (same texts and vectors, through the postings triggers), with the HNSW index dropped during the copies and built after them`,
      date: new Date().toISOString(),
      machine: machineInfo(),
      database: kind,
      queries: queries.length,
      summary: {
        hybrid_p50_ms: main50k?.hybridApiMs.p50 ?? null,
        knn_p50_ms: main50k?.bareKnnMs.p50 ?? null,
        hybrid_over_knn:
          main50k === null ? null : round2(main50k.hybridApiMs.p50 / main50k.bareKnnMs.p50),
        growth_50k_to_200k:
          main50k === null || sites['200000'] === undefined
            ? null
            : round2(at(200000).hybridApiMs.p50 / main50k.hybridApiMs.p50),
      },
      sites,
      targets: 'summary.hybrid_over_knn <= 3 (at 50k); summary.growth_50k_to_200k <= 2.5',
      note: "all sites loaded first, then measured in the same rounds query by query (each query on every site in turn, the order rotating), so that the growth between sizes is a ratio of one run under the same load. hybrid = the search API in process (validation, site lookup, hash embedding, kNN + in-memory BM25 with feedback and exact dynamic pruning, fusion, chunk details); knn = the bare kNN statement with a precomputed vector in its ef_search transaction; lexicalPruned / lexicalExhaustive = the in-memory lexical list alone, pruned and summing every posting, with the number of queries where they differed (must be 0); sqlLexical = the same BM25 ranked in SQL (the fallback when a site is not held or a filter applies), on the first queries only; rss = the whole bench process (the origin in process) before and after the site index is held (every site's index stays held, within the default budget)",
    };
    writeFileSync(
      new URL(`results/search-${kind}.json`, import.meta.url),
      `${JSON.stringify(result, null, 2)}\n`,
    );
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await h.close();
    await database.drop();
  }
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
