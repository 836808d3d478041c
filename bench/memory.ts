/**
 * The origin's memory under load, read from a real origin process's `/proc/<pid>/status` (VmRSS),
 * never from this process: RSS at idle after boot, after ingesting 10,000 chunks, peak and mean
 * during 200 concurrent chat streams (extractive answers), and over 10,000 mixed search and chat
 * requests at concurrency 20, sampled every 100 requests, to see whether it levels off: the
 * growth over the last quarter (RSS at its end minus RSS at its start) must stay under 5% of the
 * first quarter's mean. Each run is one embedder (`hash`, and the tiny generated transformers
 * model with its tiny cross-encoder) on one database (a scratch PostgreSQL database, dropped at
 * the end, and PGlite in a temp folder).
 *
 *   eval "$(bash scripts/services.sh env)" && npm run bench:memory            # everything
 *   npm run bench:memory -- --quick --db pglite --embedder hash               # a small run
 *
 * `--chunks`, `--streams` and `--requests` change the sizes (on a loaded machine PGlite and the
 * cross-encoder take far longer than 10 minutes at full size). Writes bench/results/memory.json,
 * or memory-<db>-<embedder>.json when `--db` or `--embedder` is given (memory-quick… with `--quick`).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ADMIN_TOKEN, createTestDatabase } from '../origin/test/harness.js';
import { makeTinyModels } from '../scripts/make-tiny-model.js';
import { startOrigin } from '../test/origin-process.js';
import { ask, stats } from './lib/chat-client.js';
import { machineInfo } from './lib/machine.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    db: { type: 'string', default: 'all' },
    embedder: { type: 'string', default: 'all' },
    chunks: { type: 'string' },
    streams: { type: 'string' },
    requests: { type: 'string' },
    out: { type: 'string' },
  },
});
const QUICK = values.quick;
const PRESET = QUICK
  ? { chunks: 1_000, streams: 50, requests: 1_000 }
  : { chunks: 10_000, streams: 200, requests: 10_000 };
const SIZES = {
  chunks: Number(values.chunks ?? PRESET.chunks),
  streams: Number(values.streams ?? PRESET.streams),
  requests: Number(values.requests ?? PRESET.requests),
};
if (SIZES.requests % 400 !== 0 || SIZES.requests <= 0) {
  throw new Error('--requests must be a positive multiple of 400: 100 samples, in quarters');
}
const CONCURRENCY = 20;
const SAMPLE_EVERY = SIZES.requests / 100;
const GROWTH_LIMIT = 0.05;
const MiB = 1024 * 1024;
const SITE = 'memory';

type DbKind = 'postgres' | 'pglite';
type EmbedderKind = 'hash' | 'tiny';

/** Resident set size of a process, from the kernel, in bytes. */
function rss(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1];
  if (kb === undefined) throw new Error(`no ${field} for process ${pid}`);
  return Number(kb) * 1024;
}

const mib = (bytes: number) => Math.round((bytes / MiB) * 10) / 10;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Samples RSS every `ms` while `work` runs; returns its result with the peak and mean seen. */
async function sampled<T>(pid: number, ms: number, work: () => Promise<T>) {
  const samples = [rss(pid)];
  const timer = setInterval(() => samples.push(rss(pid)), ms);
  try {
    const result = await work();
    samples.push(rss(pid));
    return { result, peak: Math.max(...samples), mean: mean(samples) };
  } finally {
    clearInterval(timer);
  }
}

/** A seeded stream of words, so that every run asks and stores the same varied text. */
function words(seed: number) {
  const vocabulary = `server client install update delete create query search index document file
    page text answer question source model vector token cache memory disk network request response
    error status code user admin login session database table column row schema migration backup
    restore deploy release version config setting option value key edge worker origin proxy stream
    chunk split merge rank score retrieve store load fetch send receive open close start stop run
    test check build bread bake recipe flour oven cat dog garden flower river mountain water time
    people number sound house picture animal mother world earth father light kind change`.split(
    /\s+/,
  );
  let state = seed >>> 0;
  return (n: number) =>
    Array.from({ length: n }, () => {
      state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
      return vocabulary[state % vocabulary.length]!;
    }).join(' ');
}

async function api(base: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(300_000),
  });
  const text = await response.text();
  if (response.status >= 400) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** Documents of about 80 words, one chunk each, posted 100 to a request until `target` chunks. */
async function ingest(base: string, target: number): Promise<number> {
  const say = words(1);
  let chunks = 0;
  for (let batch = 0; chunks < target && batch < target; batch += 1) {
    const documents = Array.from({ length: Math.min(100, target - chunks) }, (_, i) => ({
      title: `Note ${batch}-${i} ${say(3)}`,
      content: `${say(40)}. ${say(40)}.`,
      format: 'text',
      url: `https://bench.local/${batch}/${i}`,
    }));
    await api(base, 'POST', `/api/v1/sites/${SITE}/documents`, { documents });
    const { site } = (await api(base, 'GET', `/api/v1/sites/${SITE}`)) as {
      site: { chunkCount: number };
    };
    chunks = site.chunkCount;
  }
  return chunks;
}

/** `total` requests, `CONCURRENCY` at a time, 7 searches for every 3 chats; RSS every `every`. */
async function mixedLoad(base: string, pid: number, total: number, every: number) {
  const say = words(2);
  const samples: number[] = [rss(pid)];
  const statuses: Record<string, number> = {};
  let next = 0;
  let done = 0;
  const one = async (n: number) => {
    if (n % 10 < 7) {
      const response = await fetch(`${base}/api/v1/sites/${SITE}/search`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ query: say(2 + (n % 9)), k: 10 }),
        signal: AbortSignal.timeout(120_000),
      });
      await response.arrayBuffer();
      return String(response.status);
    }
    const result = await ask(base, `${say(3 + (n % 7))} ${n}?`, { site: SITE, timeoutMs: 120_000 });
    return `chat ${result.outcome}`;
  };
  const worker = async () => {
    while (next < total) {
      const n = next;
      next += 1;
      const outcome = await one(n).catch(
        (error: Error & { cause?: { code?: string } }) =>
          `error ${error.name} ${error.cause?.code ?? error.message}`,
      );
      statuses[outcome] = (statuses[outcome] ?? 0) + 1;
      done += 1;
      if (done % every === 0) samples.push(rss(pid));
      if (done % (total / 4) === 0) process.stderr.write(`  ${done}/${total} requests\n`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { samples, statuses };
}

/** Quarters of the sampled run: does the last quarter still grow? */
function levelling(samples: number[]) {
  // samples[0] is before the first request, samples[i] after i × SAMPLE_EVERY requests.
  const q = (samples.length - 1) / 4;
  const firstQuarter = samples.slice(1, q + 1);
  const q4Start = samples[3 * q]!;
  const q4End = samples[4 * q]!;
  const level = mean(firstQuarter);
  const growth = q4End - q4Start;
  return {
    q1MeanMiB: mib(level),
    q4StartMiB: mib(q4Start),
    q4EndMiB: mib(q4End),
    q4GrowthMiB: mib(growth),
    q4GrowthPctOfQ1: Math.round((growth / level) * 10_000) / 100,
    quarterEndsMiB: [q, 2 * q, 3 * q, 4 * q].map((i) => mib(samples[i]!)),
    pass: growth < GROWTH_LIMIT * level,
  };
}

async function runOne(db: DbKind, embedder: EmbedderKind) {
  const database = await createTestDatabase(db);
  const models = mkdtempSync(join(tmpdir(), 'ragedge-bench-models-'));
  const env: Record<string, string> = {
    ...database.env,
    ADMIN_TOKEN,
    NODE_ENV: 'production',
    TRUSTED_PROXIES: 'none',
    EMBEDDER: 'hash',
    RERANKER: 'none',
  };
  if (embedder === 'tiny') {
    const { embedderId, rerankerId } = await makeTinyModels(models);
    Object.assign(env, {
      EMBEDDER: 'transformers',
      RERANKER: 'cross-encoder',
      MODELS_DIR: models,
      EMBEDDING_MODEL: embedderId,
      RERANK_MODEL: rerankerId,
      EMBEDDING_DTYPE: 'fp32',
    });
  }
  const origin = await startOrigin(env, 120_000);
  const pid = origin.child.pid!;
  // Stopped from outside (Ctrl-C, a timeout): still stop the origin and drop the scratch database.
  const onSignal = () => {
    void Promise.allSettled([origin.stop(), database.drop()]).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const log = (text: string) => process.stderr.write(`[${db}/${embedder}] ${text}\n`);
  try {
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const idle = rss(pid);
    log(`idle ${mib(idle)} MiB`);

    await api(origin.url, 'POST', '/api/v1/sites', { name: SITE });
    let started = performance.now();
    const ingested = await sampled(pid, 200, () => ingest(origin.url, SIZES.chunks));
    const ingestSeconds = (performance.now() - started) / 1000;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const afterIngest = rss(pid);
    log(`${ingested.result} chunks in ${ingestSeconds.toFixed(1)} s, then ${mib(afterIngest)} MiB`);

    const say = words(3);
    const questions = Array.from({ length: SIZES.streams }, (_, i) => `${say(6)} ${i}?`);
    started = performance.now();
    const streams = await sampled(pid, 50, () =>
      Promise.all(questions.map((q) => ask(origin.url, q, { site: SITE, timeoutMs: 300_000 }))),
    );
    const streamSeconds = (performance.now() - started) / 1000;
    log(`${SIZES.streams} streams: peak ${mib(streams.peak)} MiB, mean ${mib(streams.mean)} MiB`);

    started = performance.now();
    const mixed = await mixedLoad(origin.url, pid, SIZES.requests, SAMPLE_EVERY);
    const mixedSeconds = (performance.now() - started) / 1000;
    const level = levelling(mixed.samples);
    log(
      `${SIZES.requests} mixed requests in ${mixedSeconds.toFixed(1)} s: ${JSON.stringify(level)}`,
    );

    return {
      db,
      embedder:
        embedder === 'hash' ? 'hash' : 'transformers: generated tiny model + tiny cross-encoder',
      idleMiB: mib(idle),
      ingest: {
        chunks: ingested.result,
        seconds: Math.round(ingestSeconds * 10) / 10,
        peakMiB: mib(ingested.peak),
        afterMiB: mib(afterIngest),
      },
      streams: {
        concurrent: SIZES.streams,
        ...stats(streams.result),
        seconds: Math.round(streamSeconds * 10) / 10,
        peakMiB: mib(streams.peak),
        meanMiB: mib(streams.mean),
      },
      mixed: {
        requests: SIZES.requests,
        concurrency: CONCURRENCY,
        mix: '7 searches (k 10) : 3 chats (extractive), distinct questions',
        outcomes: mixed.statuses,
        seconds: Math.round(mixedSeconds * 10) / 10,
        sampleEveryRequests: SAMPLE_EVERY,
        ...level,
        target: 'q4GrowthMiB < 5% of q1MeanMiB',
      },
      peakRssMiB: mib(rss(pid, 'VmHWM')),
    };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await origin.stop();
    await database.drop();
    rmSync(models, { recursive: true, force: true });
  }
}

async function main() {
  const dbs: DbKind[] = values.db === 'all' ? ['postgres', 'pglite'] : [values.db as DbKind];
  const embedders: EmbedderKind[] =
    values.embedder === 'all' ? ['hash', 'tiny'] : [values.embedder as EmbedderKind];
  const started = performance.now();
  const runs = [];
  for (const db of dbs) for (const embedder of embedders) runs.push(await runOne(db, embedder));
  const args = process.argv.slice(2).join(' ');
  const result = {
    name:
      values.out ??
      ['memory', QUICK ? 'quick' : '', values.db, values.embedder]
        .filter((part) => part !== '' && part !== 'all')
        .join('-'),
    command: `npm run bench:memory${args === '' ? '' : ` -- ${args}`}`,
    date: new Date().toISOString(),
    machine: machineInfo(),
    setup:
      'one origin process (node --import tsx origin/src/main.ts, NODE_ENV=production, LOG_LEVEL=info), real HTTP on loopback, admin token (no rate limits), default pool and queues; RSS = VmRSS of that process',
    sizes: SIZES,
    totalSeconds: Math.round((performance.now() - started) / 100) / 10,
    runs,
  };
  writeFileSync(
    new URL(`results/${result.name}.json`, import.meta.url),
    `${JSON.stringify(result, null, 2)}\n`,
  );
  console.log(JSON.stringify(result, null, 2));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
