/**
 * Ingestion benchmark: chunks per second through the product (JSON documents posted to the
 * origin's API in process, parsed, chunked, embedded with the `hash` embedder and written) next
 * to a raw `COPY` of the very same rows into the same table with the same indexes, in one run on
 * one machine. Target: the product reaches at least half of raw COPY.
 *
 *   eval "$(bash scripts/services.sh env)" && npm run bench:ingest [-- --docs 2400]
 *
 * Writes bench/results/ingest.json (ingest-autovacuum.json with --autovacuum).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { from as copyFrom } from 'pg-copy-streams';
import { createTestDatabase, startHarness } from '../origin/test/harness.js';
import { parseSmart } from '../origin/tools/eval/smart.js';

const { values } = parseArgs({
  options: {
    docs: { type: 'string', default: '2400' },
    concurrency: { type: 'string', default: '1' },
    batch: { type: 'string', default: '25' },
    autovacuum: { type: 'boolean', default: false },
  },
});
const wanted = Number(values.docs);
/** Requests in flight at once, and documents per request (the CLI sends 25 files per request). */
const concurrency = Number(values.concurrency);
const batchSize = Number(values.batch);
const DATA = new URL('../../shared/data/ir/', import.meta.url).pathname;

/** Real prose: Cranfield and MEDLINE abstracts, cycled and numbered to reach the wanted count. */
function corpus(): Array<{ title: string; content: string }> {
  const cran = parseSmart(readFileSync(`${DATA}cranfield/cran.all.1400`, 'utf8'));
  const med = parseSmart(readFileSync(`${DATA}medline/MED.ALL`, 'utf8'));
  const texts = [...cran, ...med]
    .map((r) => ({
      title: (r.fields.T ?? r.fields.W ?? '').split('\n')[0]!.slice(0, 200),
      content: r.fields.W ?? '',
    }))
    .filter((d) => d.content.trim().length > 0 && d.title.trim().length > 0);
  return Array.from({ length: wanted }, (_, i) => {
    const doc = texts[i % texts.length]!;
    const copy = Math.floor(i / texts.length);
    // Several abstracts per document, so documents have the size of real pages (several chunks).
    const body = [0, 1, 2, 3].map((k) => texts[(i + k * 613) % texts.length]!.content).join('\n\n');
    return { title: `${doc.title} (#${i}, copy ${copy})`, content: `# ${doc.title}\n\n${body}` };
  });
}

async function main() {
  if (process.env.TEST_DATABASE_URL === undefined)
    throw new Error('set TEST_DATABASE_URL (eval "$(bash scripts/services.sh env)")');
  const docs = corpus();
  const database = await createTestDatabase('postgres');
  const h = await startHarness({ database, env: { EMBEDDER: 'hash' } });
  try {
    await h.createSite('bench');
    const pool = h.services.db.pool;
    // Background maintenance is paused for both timed phases: a COPY commits once at the end and
    // would meet the same autovacuum right after, while the product's per-request commits meet it
    // mid-run. `--autovacuum` keeps it on to show that case too.
    if (!values.autovacuum) await pool.query('alter table chunks set (autovacuum_enabled = false)');
    // Warm-up: one document, so that the vector index and JIT paths exist before timing.
    await h.request('POST', '/api/v1/sites/bench/documents', {
      json: { title: 'warm-up', content: 'warm up text' },
    });

    const started = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < docs.length) {
        const batch = docs.slice(next, next + batchSize);
        next += batchSize;
        const response = await h.request('POST', '/api/v1/sites/bench/documents', {
          json: { documents: batch.map((doc) => ({ ...doc, format: 'markdown' })) },
        });
        if (response.status !== 201) {
          throw new Error(`ingest failed: ${response.status} ${await response.text()}`);
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const productSeconds = (performance.now() - started) / 1000;
    const { rows } = await pool.query<Record<string, string>>(
      `select document_id, site_id, position, heading_path::text, context, content, token_count, embedding::text
       from chunks order by id`,
    );
    const chunkCount = rows.length;

    // Raw COPY of the same rows into the same (now emptied) table, indexes in place.
    await pool.query('truncate chunks cascade');
    await pool.query('update sites set lexical_chunks = 0, lexical_length = 0');
    await pool.query('vacuum analyze chunks');
    const escapeCopy = (v: string) =>
      v.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
    const lines = rows.map(
      (r) =>
        `${[
          r.document_id,
          r.site_id,
          r.position,
          r.heading_path,
          r.context,
          r.content,
          r.token_count,
          r.embedding,
        ]
          .map((v) => escapeCopy(String(v)))
          .join('\t')}\n`,
    );
    const client = await pool.connect();
    const copyStarted = performance.now();
    try {
      await pipeline(
        Readable.from(lines),
        client.query(
          copyFrom(
            'copy chunks (document_id, site_id, position, heading_path, context, content, token_count, embedding) from stdin',
          ),
        ),
      );
    } finally {
      client.release();
    }
    const copySeconds = (performance.now() - copyStarted) / 1000;
    const { rows: check } = await pool.query<{ n: number }>('select count(*) as n from chunks');
    if (check[0]!.n !== chunkCount) throw new Error('COPY did not write every row');

    const product = chunkCount / productSeconds;
    const copy = chunkCount / copySeconds;
    const result = {
      name: 'ingest',
      command: `npm run bench:ingest -- --docs ${wanted} --concurrency ${concurrency} --batch ${batchSize}${values.autovacuum ? ' --autovacuum' : ''}`,
      clientConcurrency: concurrency,
      documentsPerRequest: batchSize,
      autovacuumDuringTimedPhases: values.autovacuum,
      date: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        node: process.version,
      },
      database: 'PostgreSQL (scripts/services.sh) + pgvector, HNSW and GIN indexes in place',
      embedder: 'hash-v1 (384 d)',
      documents: docs.length,
      chunks: chunkCount,
      product: { seconds: round(productSeconds), chunksPerSecond: round(product) },
      rawCopy: { seconds: round(copySeconds), chunksPerSecond: round(copy) },
      ratio: round(product / copy),
      target: 'ratio >= 0.5',
    };
    writeFileSync(
      new URL(`results/ingest${values.autovacuum ? '-autovacuum' : ''}.json`, import.meta.url),
      `${JSON.stringify(result, null, 2)}\n`,
    );
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await h.close();
    await database.drop();
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
