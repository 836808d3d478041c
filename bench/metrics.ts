/**
 * What observability costs: the time `httpMetrics` adds to a request (the same trivial route with
 * and without it, interleaved so that machine noise falls on both), and the time and size of a
 * `/metrics` scrape after a few thousand real search requests have filled the histograms.
 *
 *   eval "$(bash scripts/services.sh env)" && npx tsx bench/metrics.ts --db postgres
 *
 * Writes bench/results/metrics.json.
 */
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { Hono } from 'hono';
import type { AppEnv } from '../origin/src/app-env.js';
import { httpMetrics } from '../origin/src/observability/http-metrics.js';
import { createMetrics } from '../origin/src/observability/metrics.js';
import { createTestDatabase, startHarness } from '../origin/test/harness.js';

const { values } = parseArgs({
  options: {
    db: { type: 'string', default: 'postgres' },
    requests: { type: 'string', default: '20000' },
    searches: { type: 'string', default: '3000' },
    scrapes: { type: 'string', default: '200' },
  },
});
const kind = values.db === 'pglite' ? 'pglite' : 'postgres';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function summary(samplesMs: number[]) {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const round = (ms: number) => Math.round(ms * 1000) / 1000;
  return { p50Ms: round(percentile(sorted, 50)), p95Ms: round(percentile(sorted, 95)) };
}

/** The middleware's own cost, on a route that does nothing else. */
async function middlewareOverhead(requests: number) {
  const bare = new Hono<AppEnv>();
  bare.get('/items/:id', (c) => c.text('ok'));
  const measured = new Hono<AppEnv>();
  measured.use(httpMetrics(createMetrics({})));
  measured.get('/items/:id', (c) => c.text('ok'));
  const without: number[] = [];
  const withMetrics: number[] = [];
  for (let i = 0; i < requests; i += 1) {
    const path = `/items/${i}`;
    for (const [app, into] of [
      [bare, without],
      [measured, withMetrics],
    ] as const) {
      const started = performance.now();
      const response = await app.request(path);
      await response.text();
      into.push(performance.now() - started);
    }
  }
  const a = summary(without);
  const b = summary(withMetrics);
  return {
    requests,
    without: a,
    with: b,
    addedP50Us: Math.round((b.p50Ms - a.p50Ms) * 1000),
  };
}

async function main() {
  const requests = Number(values.requests);
  const overhead = await middlewareOverhead(requests);
  console.log('middleware', overhead);

  const database = await createTestDatabase(kind);
  const h = await startHarness({ database, env: { EMBEDDER: 'hash', RERANKER: 'lexical' } });
  try {
    await h.createSite('bench');
    const documents = Array.from({ length: 50 }, (_, i) => ({
      title: `Document ${i}`,
      content: `# Part ${i}\n\n${`Sentence ${i} about ferries, harbours and tickets number ${i}. `.repeat(40)}`,
    }));
    const ingested = await h.request('POST', '/api/v1/sites/bench/documents', {
      json: { documents },
    });
    if (ingested.status !== 201) throw new Error(`ingest: ${ingested.status}`);
    const searches = Number(values.searches);
    const searchStarted = performance.now();
    for (let i = 0; i < searches; i += 1) {
      const response = await h.request('POST', '/api/v1/sites/bench/search', {
        json: { query: `ferry tickets ${i % 97}`, k: 5, mode: i % 3 === 0 ? 'fulltext' : 'hybrid' },
      });
      if (response.status !== 200) throw new Error(`search: ${response.status}`);
      await response.text();
      if (i % 10 === 0) await (await h.request('GET', `/no/such/page-${i}`)).text();
    }
    const searchSeconds = (performance.now() - searchStarted) / 1000;
    const scrapes = Number(values.scrapes);
    const times: number[] = [];
    let bytes = 0;
    let series = 0;
    for (let i = 0; i < scrapes; i += 1) {
      const started = performance.now();
      const response = await h.request('GET', '/metrics');
      const text = await response.text();
      times.push(performance.now() - started);
      bytes = Buffer.byteLength(text);
      series = text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length;
    }
    const result = {
      command: `npx tsx bench/metrics.ts --db ${kind} --requests ${requests} --searches ${searches} --scrapes ${scrapes}`,
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, memoryGb: Math.round(totalmem() / 2 ** 30) },
      database: kind,
      middleware: overhead,
      scrape: {
        afterRequests: searches + Math.ceil(searches / 10),
        searchSeconds: Math.round(searchSeconds * 10) / 10,
        scrapes,
        ...summary(times),
        bytes,
        series,
      },
    };
    writeFileSync(
      new URL('results/metrics.json', import.meta.url),
      `${JSON.stringify(result, null, 2)}\n`,
    );
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await h.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
