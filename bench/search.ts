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
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { vectorIndexDdl, vectorIndexName } from '../origin/src/db/vector-index.js';
import { retrievalStatement } from '../origin/src/retrieval/search.js';
import { vectorLiteral } from '../origin/src/store/chunks.js';
import { createTestDatabase, type Harness, startHarness } from '../origin/test/harness.js';
import { parseSmart } from '../origin/tools/eval/smart.js';

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
/** Documents copied per statement: each statement stays far within the statement timeout. */
const COPY_BATCH = 1_000;
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

async function load(h: Harness, site: string, wanted: number, abstracts: string[]) {
  await h.createSite(site);
  const pool = h.services.db.pool;
  const { rows } = await pool.query<{ id: number }>('select id from sites where name = $1', [site]);
  const siteId = rows[0]!.id;
  let chunks = 0;
  let doc = 0;
  const started = performance.now();
  while (chunks < Math.min(wanted, apiChunks)) {
    const documents = Array.from({ length: 100 }, () => {
      doc += 1;
      return {
        title: `Abstract ${doc}`,
        url: `https://bench.local/${doc}`,
        content: abstracts[doc % abstracts.length]!,
        format: 'text' as const,
      };
    });
    const response = await h.request('POST', `/api/v1/sites/${site}/documents`, {
      json: { documents },
    });
    if (response.status !== 201) throw new Error(`ingest failed: ${await response.text()}`);
    const counted = await pool.query<{ n: number }>(
      'select count(*) as n from chunks where site_id = $1',
      [siteId],
    );
    chunks = counted.rows[0]!.n;
  }
  const seeds = await pool.query<{ max: number; n: number; chunks: number }>(
    `select max(d.id)::float8 as max, count(*)::float8 as n, sum(d.chunk_count)::float8 as chunks
     from documents d where d.site_id = $1`,
    [siteId],
  );
  const seed = seeds.rows[0]!;
  // Copies go in without the HNSW index, which is built once after them: maintaining it row by
  // row on 2 shared cores made the 200k load take over an hour.
  if (chunks < wanted) await pool.query(`drop index if exists ${vectorIndexName(384)}`);
  for (let copy = 1; chunks < wanted; copy += 1) {
    // The seed documents copied in batches (each its own transaction and version).
    const offset = ((copy - 1) * COPY_BATCH) % seed.n;
    const docs = Math.min(
      COPY_BATCH,
      seed.n - offset,
      Math.ceil((seed.n * (wanted - chunks)) / seed.chunks) + 1,
    );
    const client = await pool.connect();
    try {
      await client.query('begin');
      await client.query('update sites set content_version = content_version + 1 where id = $1', [
        siteId,
      ]);
      await client.query(
        `insert into documents (site_id, source, title, url, format, content_hash, chunk_count, byte_size)
         select site_id, source || '#' || $3::text, title, url || '#' || $3::text, format,
                content_hash, chunk_count, byte_size
         from documents where site_id = $1 and id <= $2 order by id limit $4 offset $5`,
        [siteId, seed.max, String(copy), docs, offset],
      );
      await client.query(
        `insert into chunks (document_id, site_id, position, heading_path, context, content, token_count, embedding)
         select nd.id, c.site_id, c.position, c.heading_path, c.context, c.content, c.token_count, c.embedding
         from documents nd
           join documents od on od.site_id = nd.site_id and od.source || '#' || $2::text = nd.source
           join chunks c on c.document_id = od.id
         where nd.site_id = $1 and nd.source like '%#' || $2::text`,
        [siteId, String(copy)],
      );
      await client.query('commit');
    } finally {
      client.release();
    }
    const counted = await pool.query<{ n: number }>(
      'select count(*) as n from chunks where site_id = $1',
      [siteId],
    );
    chunks = counted.rows[0]!.n;
    process.stderr.write(`${site}: ${chunks} chunks\n`);
  }
  const builder = await pool.connect();
  try {
    // The whole graph in memory: a build that spills is several times slower.
    await builder.query("set maintenance_work_mem = '1GB'");
    await builder.query(vectorIndexDdl(384));
    await builder.query('reset maintenance_work_mem');
  } finally {
    builder.release();
  }
  const seconds = (performance.now() - started) / 1000;
  process.stderr.write(`${site}: ${chunks} chunks in ${seconds.toFixed(0)} s\n`);
  return { siteId, chunks, loadSeconds: round2(seconds) };
}

async function measure(
  h: Harness,
  site: string,
  siteId: number,
  queries: string[],
): Promise<Record<string, unknown>> {
  const pool = h.services.db.pool;
  const settings = h.services.search.settings;
  const indexes = h.services.search.lexicalIndexes!;
  const vectors = new Map<string, string>();
  for (const q of queries) {
    vectors.set(q, vectorLiteral((await h.services.embedder.embed([q]))[0]!));
  }
  const knn = async (query: string) => {
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
  };
  const sqlLexical = async (query: string) => {
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
  };
  const api = async (query: string) => {
    const started = performance.now();
    const response = await h.request('POST', `/api/v1/sites/${site}/search`, {
      json: { query, k: 10, mode: 'hybrid', rerank: false },
    });
    if (response.status !== 200) throw new Error(`search failed: ${await response.text()}`);
    await response.json();
    return performance.now() - started;
  };

  // The first query starts the postings load; time it to the end.
  const rssBefore = process.memoryUsage().rss;
  const loadStarted = performance.now();
  await api(queries[0]!);
  await indexes.settled();
  const indexLoadMs = round2(performance.now() - loadStarted);
  global.gc?.();
  const rssHeld = process.memoryUsage().rss;
  const held = indexes.bytes;
  if (held === 0) throw new Error(`${site}: the postings were not loaded (over the budget?)`);

  for (const q of queries.slice(0, 20)) {
    await api(q);
    await knn(q);
  }
  const times = { api: [] as number[], knn: [] as number[], sql: [] as number[] };
  for (let round = 0; round < rounds; round += 1) {
    for (const [i, q] of queries.entries()) {
      if ((i + round) % 2 === 0) {
        times.api.push(await api(q));
        times.knn.push(await knn(q));
      } else {
        times.knn.push(await knn(q));
        times.api.push(await api(q));
      }
    }
  }
  for (const q of queries.slice(0, sqlSample)) times.sql.push(await sqlLexical(q));
  const hybrid = stats(times.api);
  const bare = stats(times.knn);
  return {
    hybridApiMs: hybrid,
    bareKnnMs: bare,
    hybridOverKnn: round2(hybrid.p50 / bare.p50),
    sqlLexicalMs: stats(times.sql),
    indexLoadMs,
    indexMiB: round2(held / 2 ** 20),
    rssBeforeLoadMiB: round2(rssBefore / 2 ** 20),
    rssHoldingIndexMiB: round2(rssHeld / 2 ** 20),
  };
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
    for (const size of sizes) {
      const name = `bench-${size}`;
      const loaded = await load(h, name, size, abstracts);
      await h.services.db.pool.query('analyze');
      sites[String(size)] = {
        chunks: loaded.chunks,
        loadSeconds: loaded.loadSeconds,
        ...(await measure(h, name, loaded.siteId, queries)),
      };
      process.stderr.write(`${name}: ${JSON.stringify(sites[String(size)])}\n`);
    }
    const at = (size: number) =>
      sites[String(size)] as { hybridApiMs: { p50: number }; bareKnnMs: { p50: number } };
    const main50k = sites['50000'] === undefined ? null : at(50000);
    const result = {
      name: `search-${kind}`,
      command: `npm run bench:search -- --db ${kind} --sizes ${values.sizes} --rounds ${rounds} --sql-sample ${sqlSample} --api-chunks ${apiChunks}`,
      loading: `each site: ${apiChunks} chunks through the ingestion API, the rest copies of those documents made in SQL (same texts and vectors, through the postings triggers), with the HNSW index dropped during the copies and built after them`,
      date: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        node: process.version,
      },
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
      note: 'hybrid = the search API in process (validation, site lookup, hash embedding, kNN + in-memory BM25 with feedback, fusion, chunk details); knn = the bare kNN statement with a precomputed vector in its ef_search transaction; sqlLexical = the same BM25 ranked in SQL (the fallback when a site is not held or a filter applies), on the first queries only; rss = the whole bench process (the origin in process) once the site index is held',
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
