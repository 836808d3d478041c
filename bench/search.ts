/**
 * Search latency: p50 and p95 of the search API (hybrid, no reranking, no model inference: the
 * `hash` embedder) next to the bare SQL of the same hybrid query run directly on the same pool,
 * over a site of about 50,000 chunks. Each query runs both ways back to back, so noise on the
 * shared machine falls on both. The bare path runs `retrievalStatement`, the very statement the
 * service runs. Target: the API adds at most 50% to the bare SQL's p50.
 *
 *   eval "$(bash scripts/services.sh env)" && npm run bench:search -- --db postgres
 *   npm run bench:search -- --db pglite
 *
 * Writes bench/results/search-<db>.json.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { parseSmart } from '../origin/src/eval/smart.js';
import { retrievalStatement } from '../origin/src/retrieval/search.js';
import { vectorLiteral } from '../origin/src/store/chunks.js';
import { createTestDatabase, startHarness } from '../origin/test/harness.js';

const { values } = parseArgs({
  options: {
    db: { type: 'string', default: 'postgres' },
    chunks: { type: 'string', default: '50000' },
    rounds: { type: 'string', default: '2' },
  },
});
const kind = values.db === 'pglite' ? 'pglite' : 'postgres';
const wantedChunks = Number(values.chunks);
const DATA = new URL('../../shared/data/ir/', import.meta.url).pathname;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
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
    env: { EMBEDDER: 'hash', RERANKER: 'none', CHUNK_MAX_TOKENS: '128', CHUNK_OVERLAP_TOKENS: '0' },
  });
  try {
    await h.createSite('bench');
    const pool = h.services.db.pool;
    let chunks = 0;
    let doc = 0;
    const loadStarted = performance.now();
    while (chunks < wantedChunks) {
      const documents = Array.from({ length: 100 }, () => {
        doc += 1;
        const text = abstracts[doc % abstracts.length]!;
        return {
          title: `Abstract ${doc}`,
          url: `https://bench.local/${doc}`,
          content: text,
          format: 'text' as const,
        };
      });
      const response = await h.request('POST', '/api/v1/sites/bench/documents', {
        json: { documents },
      });
      if (response.status !== 201) throw new Error(`ingest failed: ${await response.text()}`);
      const { rows } = await pool.query<{ n: number }>('select count(*) as n from chunks');
      chunks = rows[0]!.n;
    }
    process.stderr.write(
      `loaded ${chunks} chunks in ${((performance.now() - loadStarted) / 1000).toFixed(0)} s\n`,
    );
    await pool.query('analyze');
    const { rows: siteRows } = await pool.query<{ id: number }>(
      "select id from sites where name = 'bench'",
    );
    const siteId = siteRows[0]!.id;
    const site = { id: siteId, embeddingDim: 384 };

    const bareSql = async (query: string) => {
      const vector = vectorLiteral((await h.services.embedder.embed([query]))[0]!);
      const client = await pool.connect();
      try {
        const started = performance.now();
        await client.query('begin');
        await client.query(
          "select set_config('hnsw.ef_search', '50', true), set_config('hnsw.iterative_scan', 'relaxed_order', true)",
        );
        const bound = retrievalStatement(
          site,
          { mode: 'hybrid', query },
          50,
          vector,
          h.services.search.settings,
        );
        await client.query(bound.text, bound.values);
        await client.query('commit');
        return performance.now() - started;
      } finally {
        client.release();
      }
    };
    const api = async (query: string) => {
      const started = performance.now();
      const response = await h.request('POST', '/api/v1/sites/bench/search', {
        json: { query, k: 10, mode: 'hybrid', rerank: false },
      });
      if (response.status !== 200) throw new Error(`search failed: ${await response.text()}`);
      await response.json();
      return performance.now() - started;
    };

    for (const q of queries.slice(0, 20)) {
      await api(q);
      await bareSql(q);
    }
    const times = { api: [] as number[], sql: [] as number[] };
    for (let round = 0; round < Number(values.rounds); round += 1) {
      for (const [i, q] of queries.entries()) {
        if ((i + round) % 2 === 0) {
          times.api.push(await api(q));
          times.sql.push(await bareSql(q));
        } else {
          times.sql.push(await bareSql(q));
          times.api.push(await api(q));
        }
      }
    }
    const summary = (list: number[]) => {
      const sorted = [...list].sort((a, b) => a - b);
      return {
        p50: round2(percentile(sorted, 50)),
        p95: round2(percentile(sorted, 95)),
        n: sorted.length,
      };
    };
    const apiStats = summary(times.api);
    const sqlStats = summary(times.sql);
    const result = {
      name: `search-${kind}`,
      command: `npm run bench:search -- --db ${kind} --chunks ${wantedChunks} --rounds ${values.rounds}`,
      date: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        node: process.version,
      },
      database: kind,
      chunks,
      queries: queries.length,
      apiMs: apiStats,
      bareSqlMs: sqlStats,
      apiOverheadAtP50: round2(apiStats.p50 / sqlStats.p50 - 1),
      target: 'apiOverheadAtP50 <= 0.5',
      note: 'bare SQL = the hybrid statement with a precomputed query vector and its ef_search transaction; API = HTTP handling, validation, site lookup, query embedding, the same statement, and the chunk details',
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
