/**
 * Ingestion benchmark: a first ingest of the corpus into an empty site (JSON documents posted to
 * the origin's API in process, parsed, chunked, embedded with the `hash` embedder and written),
 * timed until the vector index holds every row, along the path before this change (index
 * maintained row by row) and the current one (index built after the load), next to a raw `COPY`
 * of the very same rows into the same schema with its indexes in place; the three in turn, in
 * one run on one machine. Targets: the current path ≥ 1.5× faster than the old one, and at least
 * half of raw COPY's chunks per second.
 *
 *   eval "$(bash scripts/services.sh env)" && npm run bench:ingest [-- --docs 2400 --repeats 3]
 *
 * Writes bench/results/ingest.json (ingest-autovacuum.json with --autovacuum).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { from as copyFrom } from 'pg-copy-streams';
import { vectorIndexDdl } from '../origin/src/db/vector-index.js';
import { createTestDatabase, startHarness } from '../origin/test/harness.js';
import { parseSmart } from '../origin/tools/eval/smart.js';
import { machineInfo } from './lib/machine.js';

const { values } = parseArgs({
  options: {
    docs: { type: 'string', default: '2400' },
    concurrency: { type: 'string', default: '1' },
    batch: { type: 'string', default: '25' },
    autovacuum: { type: 'boolean', default: false },
    repeats: { type: 'string', default: '1' },
    /** Long enough that no build starts mid-load on a loaded machine; `flush` starts it. */
    'idle-ms': { type: 'string', default: '600000' },
  },
});
const wanted = Number(values.docs);
/** Requests in flight at once, and documents per request (the CLI sends 25 files per request). */
const concurrency = Number(values.concurrency);
const batchSize = Number(values.batch);
const repeats = Number(values.repeats);
const idleMs = Number(values['idle-ms']);
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

/** Polls until the 384-d vector index exists (bounded). */
async function waitForVectorIndex(pool: import('pg').Pool): Promise<void> {
  for (let i = 0; i < 6000; i += 1) {
    const { rows } = await pool.query(
      `select 1 from pg_class c join pg_index i on i.indexrelid = c.oid
       where c.relname = 'chunks_embedding_hnsw_384' and i.indisvalid`,
    );
    if (rows.length > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the vector index was never built');
}

/**
 * A first ingest of the corpus into an empty site of an empty database, through the API, timed
 * until the vector index holds every row: `idleMs` 0 is the path before this change (index
 * created before the first write, maintained row by row); otherwise the index is built after
 * the load (started by `flush` as soon as the last response is in: in production it starts
 * once the writes have paused for VECTOR_INDEX_BUILD_IDLE_MS, a wait that is not work).
 */
async function firstIngest(
  docs: Array<{ title: string; content: string }>,
  idleMs: number,
  keepRows: boolean,
) {
  const database = await createTestDatabase('postgres');
  const h = await startHarness({
    database,
    env: { EMBEDDER: 'hash', VECTOR_INDEX_BUILD_IDLE_MS: String(idleMs) },
  });
  try {
    await h.createSite('bench');
    const pool = h.services.db.pool;
    // Background maintenance is paused for every timed phase: a COPY commits once at the end
    // and would meet the same autovacuum right after, while the product's per-request commits
    // meet it mid-run. `--autovacuum` keeps it on to show that case too.
    if (!values.autovacuum) await pool.query('alter table chunks set (autovacuum_enabled = false)');
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
    const loaded = performance.now();
    // The build the writes' pause would start, started now: the pause is waiting, not work.
    await h.services.vectorIndexes.flush();
    await waitForVectorIndex(pool);
    const indexed = performance.now();
    const { rows } = await pool.query<Record<string, string>>(
      `select document_id, site_id, position, heading_path::text, context, content, token_count, embedding::text
       from chunks order by id`,
    );
    return {
      rows: keepRows ? rows : [],
      chunks: rows.length,
      loadSeconds: round((loaded - started) / 1000),
      seconds: round((indexed - started) / 1000),
    };
  } finally {
    await h.close();
    await database.drop();
  }
}

/**
 * Raw COPY of the same rows into the same schema in an empty database with its indexes in
 * place (the HNSW index included, as a table already serving searches has it).
 */
async function rawCopy(rows: Array<Record<string, string>>) {
  const database = await createTestDatabase('postgres');
  const h = await startHarness({
    database,
    env: { EMBEDDER: 'hash', VECTOR_INDEX_BUILD_IDLE_MS: '0', DB_STATEMENT_TIMEOUT_MS: '600000' },
  });
  try {
    const pool = h.services.db.pool;
    await h.createSite('bench');
    // The same document ids: one document row per id the product wrote.
    const siteId = (await pool.query<{ id: number }>("select id from sites where name = 'bench'"))
      .rows[0]!.id;
    const documentIds = [...new Set(rows.map((r) => Number(r.document_id)))];
    const remap = new Map<number, number>();
    for (const id of documentIds) {
      const { rows: made } = await pool.query<{ id: number }>(
        `insert into documents (site_id, source, title, format, content_hash, chunk_count, byte_size)
         values ($1, $2, $2, 'markdown', 'x', 0, 0) returning id`,
        [siteId, `doc-${id}`],
      );
      remap.set(id, made[0]!.id);
    }
    await pool.query(vectorIndexDdl(384));
    if (!values.autovacuum) await pool.query('alter table chunks set (autovacuum_enabled = false)');
    const escapeCopy = (v: string) =>
      v.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
    const lines = rows.map(
      (r) =>
        `${[
          remap.get(Number(r.document_id)),
          siteId,
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
    const seconds = (performance.now() - copyStarted) / 1000;
    const { rows: check } = await pool.query<{ n: number }>('select count(*) as n from chunks');
    if (check[0]!.n !== rows.length) throw new Error('COPY did not write every row');
    return { seconds: round(seconds) };
  } finally {
    await h.close();
    await database.drop();
  }
}

async function main() {
  if (process.env.TEST_DATABASE_URL === undefined)
    throw new Error('set TEST_DATABASE_URL (eval "$(bash scripts/services.sh env)")');
  const docs = corpus();
  // The three phases in turn, `repeats` times, so that the machine's load falls on all three.
  const runs: Array<{ before: number; after: number; copy: number; afterLoad: number }> = [];
  let chunks = 0;
  for (let r = 0; r < repeats; r += 1) {
    const before = await firstIngest(docs, 0, true);
    process.stderr.write(`before: ${before.seconds} s\n`);
    const after = await firstIngest(docs, idleMs, false);
    process.stderr.write(`after: ${after.seconds} s (load ${after.loadSeconds} s)\n`);
    if (after.chunks !== before.chunks) throw new Error('the two ingests wrote different rows');
    const copy = await rawCopy(before.rows);
    chunks = before.chunks;
    runs.push({
      before: before.seconds,
      after: after.seconds,
      afterLoad: after.loadSeconds,
      copy: copy.seconds,
    });
    process.stderr.write(`${JSON.stringify(runs.at(-1))}\n`);
  }
  const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]!;
  const before = median(runs.map((r) => r.before));
  const after = median(runs.map((r) => r.after));
  const copy = median(runs.map((r) => r.copy));
  const result = {
    name: 'ingest',
    command: `npm run bench:ingest -- --docs ${wanted} --concurrency ${concurrency} --batch ${batchSize} --repeats ${repeats} --idle-ms ${idleMs}${values.autovacuum ? ' --autovacuum' : ''}`,
    clientConcurrency: concurrency,
    documentsPerRequest: batchSize,
    autovacuumDuringTimedPhases: values.autovacuum,
    date: new Date().toISOString(),
    machine: machineInfo(),
    database: 'PostgreSQL (scripts/services.sh) + pgvector; each phase in an empty database',
    embedder: 'hash-v1 (384 d)',
    documents: docs.length,
    chunks,
    runs,
    before: {
      path: 'index created before the first write, maintained row by row (VECTOR_INDEX_BUILD_IDLE_MS=0)',
      seconds: before,
      chunksPerSecond: round(chunks / before),
    },
    after: {
      path: 'index built once after the load (its build included; the idle pause that starts it in production is not)',
      seconds: after,
      chunksPerSecond: round(chunks / after),
    },
    rawCopy: {
      path: 'COPY of the same rows, HNSW and GIN indexes and postings triggers in place',
      seconds: copy,
      chunksPerSecond: round(chunks / copy),
    },
    speedup: round(before / after),
    ratio: round(copy / after),
    target: 'speedup >= 1.5; ratio (product chunks/s over raw COPY chunks/s) >= 0.5',
  };
  writeFileSync(
    new URL(`results/ingest${values.autovacuum ? '-autovacuum' : ''}.json`, import.meta.url),
    `${JSON.stringify(result, null, 2)}\n`,
  );
  console.log(JSON.stringify(result, null, 2));
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
