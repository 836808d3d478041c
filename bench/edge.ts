/**
 * The edge Worker's cost on the time to first byte of a chat stream: the same chat question
 * asked of one origin process straight, through the Worker in local workerd as `wrangler dev`
 * runs it (what the tests use), and through the deployable bundle in one workerd via Miniflare
 * (without wrangler dev's proxy Worker in front), interleaved request by request so that drift
 * in the machine's load hits all three alike. Also bundles the Worker as `npm run build:edge` does and reports its size, raw and gzipped.
 *
 *   eval "$(bash scripts/services.sh env)" && npm run bench:edge -- --db postgres --runs 200
 *
 * Writes bench/results/edge.json. The requests use the admin token so that the origin's exact
 * per-IP chat limit does not throttle the benchmark, and a different `X-Site-Key` per request so
 * that the edge's budget (keyed by site key + IP) does not either; both sides do the same work.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ADMIN_TOKEN, createTestDatabase } from '../origin/test/harness.js';
import { newEdgeSecret, startEdge } from '../test/edge-process.js';
import { startOrigin } from '../test/origin-process.js';
import { bundleWorker, startBundledEdge } from './lib/edge-bundle.js';

const { values } = parseArgs({
  options: {
    db: { type: 'string', default: 'postgres' },
    runs: { type: 'string', default: '200' },
    warmup: { type: 'string', default: '20' },
  },
});
const kind = values.db === 'pglite' ? 'pglite' : 'postgres';
const RUNS = Number(values.runs);
const WARMUP = Number(values.warmup);
const ROOT = new URL('..', import.meta.url).pathname;
const TARGET_MS = 5;

/** Milliseconds from sending the request to the first byte of the stream's body; reads it all. */
async function timeToFirstByte(base: string, headers: Record<string, string>, n: number) {
  const started = performance.now();
  const response = await fetch(`${base}/api/v1/sites/bench/chat`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${ADMIN_TOKEN}`,
      'Content-Type': 'application/json',
      'X-Site-Key': `pk_bench_${n}`,
      ...headers,
    },
    body: JSON.stringify({ message: 'How many dumps does the nightly job keep?' }),
    signal: AbortSignal.timeout(60_000),
  });
  if (response.status !== 200 || response.body === null) {
    throw new Error(`chat answered ${response.status}: ${await response.text()}`);
  }
  const reader = response.body.getReader();
  const first = await reader.read();
  const ttfb = performance.now() - started;
  if (first.done) throw new Error('empty stream');
  let text = new TextDecoder().decode(first.value);
  for (;;) {
    const chunk = await reader.read();
    if (chunk.done) break;
    text += new TextDecoder().decode(chunk.value);
  }
  if (!text.includes('event: done')) throw new Error(`stream did not finish:\n${text.slice(-500)}`);
  return ttfb;
}

function quantile(sorted: number[], q: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index]!;
}

const round = (value: number) => Math.round(value * 100) / 100;

function pairedMedian(a: number[], b: number[]): number {
  const differences = a.map((value, i) => value - b[i]!).sort((x, y) => x - y);
  return quantile(differences, 0.5);
}

function summary(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50Ms: round(quantile(sorted, 0.5)),
    p90Ms: round(quantile(sorted, 0.9)),
    p99Ms: round(quantile(sorted, 0.99)),
  };
}

const database = await createTestDatabase(kind);
const secret = newEdgeSecret();
const bundleDir = mkdtempSync(join(tmpdir(), 'ragedge-edge-bundle-'));
const stops: Array<() => Promise<unknown>> = [
  () => database.drop(),
  async () => rmSync(bundleDir, { recursive: true, force: true }),
];
try {
  const origin = await startOrigin({
    EMBEDDER: 'hash',
    ADMIN_TOKEN,
    EDGE_SHARED_SECRET: secret,
    ...database.env,
  });
  stops.unshift(() => origin.stop());
  const edge = await startEdge({ originUrls: [origin.url], secret, logLevel: 'warn' });
  stops.unshift(() => edge.stop());
  const bundleSize = bundleWorker(bundleDir);
  const bare = await startBundledEdge(bundleDir, [origin.url], secret);
  stops.unshift(() => bare.stop());
  const admin = {
    Authorization: `Bearer ${ADMIN_TOKEN}`,
    'Content-Type': 'application/json',
    'X-Edge-Secret': secret,
  };
  const site = await fetch(`${origin.url}/api/v1/sites`, {
    method: 'POST',
    headers: admin,
    body: JSON.stringify({ name: 'bench' }),
  });
  if (site.status !== 201) throw new Error(`create site: ${site.status}`);
  const doc = await fetch(`${origin.url}/api/v1/sites/bench/documents`, {
    method: 'POST',
    headers: admin,
    body: JSON.stringify({
      title: 'Backups',
      content: '# Backups\n\nThe nightly job runs pg_dump and keeps seven dumps.',
    }),
  });
  if (doc.status !== 201) throw new Error(`add document: ${doc.status}`);

  const loadBefore = loadavg()[0]!;
  const direct: number[] = [];
  const viaEdge: number[] = [];
  const viaBare: number[] = [];
  for (let i = 0; i < WARMUP + RUNS; i += 1) {
    const d = await timeToFirstByte(origin.url, { 'X-Edge-Secret': secret }, i);
    const e = await timeToFirstByte(edge.url, {}, i);
    const m = await timeToFirstByte(bare.url, {}, i);
    if (i >= WARMUP) {
      direct.push(d);
      viaEdge.push(e);
      viaBare.push(m);
    }
  }
  // What the local dev server costs by itself: a path the Worker answers without KV or origin
  // (wrangler dev puts its proxy Worker and the assets router in front of ours).
  const selfAnswered: number[] = [];
  for (let i = 0; i < RUNS; i += 1) {
    const started = performance.now();
    const response = await fetch(`${edge.url}/metrics`);
    await response.arrayBuffer();
    selfAnswered.push(performance.now() - started);
  }
  const directSummary = summary(direct);
  const edgeSummary = summary(viaEdge);
  const overheadP50Ms = round(edgeSummary.p50Ms - directSummary.p50Ms);
  const bareSummary = summary(viaBare);
  const result = {
    command: `npx tsx bench/edge.ts --db ${kind} --runs ${RUNS} --warmup ${WARMUP}`,
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      memoryGb: Math.round(totalmem() / 2 ** 30),
      // The machine is shared: its load says how far the absolute figures can be trusted.
      loadAverage1m: { before: round(loadBefore), after: round(loadavg()[0]!) },
    },
    database: kind,
    runs: RUNS,
    ttfb: {
      direct: directSummary,
      edge: edgeSummary,
      overheadP50Ms,
      edgeMiniflare: bareSummary,
      overheadMiniflareP50Ms: round(bareSummary.p50Ms - directSummary.p50Ms),
      // The median of per-pair differences (each edge request against the direct one just
      // before it): steadier than a difference of medians when the machine's load drifts.
      pairedOverheadP50Ms: round(pairedMedian(viaEdge, direct)),
      pairedOverheadMiniflareP50Ms: round(pairedMedian(viaBare, direct)),
    },
    edgeSelfAnswered: summary(selfAnswered),
    targetOverheadP50Ms: TARGET_MS,
    met: {
      wranglerDev: overheadP50Ms <= TARGET_MS,
      miniflare: bareSummary.p50Ms - directSummary.p50Ms <= TARGET_MS,
    },
    bundle: bundleSize,
  };
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench/results/edge.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result, null, 2));
} finally {
  for (const stop of stops) await stop();
}
