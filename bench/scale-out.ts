/**
 * Scale-out: chat turns per second through the Worker with 1, 2 and 3 origin processes on the
 * same machine, sharing one PostgreSQL and one Redis (CHAT_STREAMS=redis), measured in one run.
 * The Worker is the deployable bundle in workerd (Miniflare, as `bench/edge.ts` runs it), one
 * Worker per set-up in front of the first one, two or three origins; `--edge wrangler` puts
 * `wrangler dev` there instead (what the tests use; its proxy Durable Object, which every request
 * and every streamed chunk passes through, is what this machine measures then).
 *
 * Fairness: the set-ups take turns within each round, in an order rotated round by round, so
 * that drift in the machine's load and the order itself fall on all of them; every set-up meets
 * the same closed-loop load (CONCURRENCY readers from this process, each asking the next question
 * when its answer ends); each run waits for its last answers, and the next starts after a pause.
 * Reported: per set-up the median of the rounds with their range, and the ratios 2/1 and 3/1
 * paired within each round. Each round also asks one origin directly (no Worker: the ceiling)
 * and one origin through `wrangler dev` (what the local dev server costs).
 *
 * Answers are extractive (no LLM: the origin's own CPU is the cost), the embedder is `hash`;
 * every question is distinct, so every turn misses the cache and retrieves. RSS and CPU time of
 * every origin, of the Worker's workerd and of this load generator come from /proc.
 *
 * Then a failover: three origins answering through an LLM stub that streams slowly (so that many
 * answers are in progress at any moment), and one origin SIGKILLed during the run; every reader
 * resumes through the Worker with `Last-Event-ID` as the chat site does. A stream is lost unless
 * it ended with `done`, with every event id once and in order, and the whole expected answer.
 *
 *   eval "$(bash scripts/services.sh env)" && npm run bench:scale-out
 *
 * Writes bench/results/scale-out.json.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ADMIN_TOKEN, createTestDatabase, type TestDatabase } from '../origin/test/harness.js';
import { STUB_ANSWER, startLlmStub } from '../origin/test/llm-stub.js';
import { startOrigins } from '../test/cluster.js';
import { startEdge } from '../test/edge-process.js';
import type { OriginProcess } from '../test/origin-process.js';
import { ask, stats } from './lib/chat-client.js';
import { bundleWorker, startBundledEdge } from './lib/edge-bundle.js';
import { machineInfo } from './lib/machine.js';
import { runMain, writeResult } from './lib/result.js';
import { askResuming } from './lib/resuming-client.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '15' },
    concurrency: { type: 'string', default: '12' },
    rounds: { type: 'string', default: '5' },
    'failover-seconds': { type: 'string', default: '30' },
    /** `workerd`: the bundle in workerd (Miniflare); `wrangler`: `wrangler dev`. */
    edge: { type: 'string', default: 'workerd' },
    /** `failover` alone skips the throughput runs (to look at the failover quickly). */
    phases: { type: 'string', default: 'throughput,failover' },
  },
});
const SECONDS = Number(values.seconds);
const CONCURRENCY = Number(values.concurrency);
const ROUNDS = Number(values.rounds);
const FAILOVER_SECONDS = Number(values['failover-seconds']);
const EDGE = values.edge === 'wrangler' ? 'wrangler' : 'workerd';
const DOCS = new URL('../docs/', import.meta.url).pathname;
const REDIS_URL = process.env.TEST_REDIS_URL;
const TICKS_PER_SECOND = 100;
/** Between two runs: the last answers' Redis writes and timers settle before the next starts. */
const PAUSE_MS = 1_000;

let asked = 0;
/** Words of the documents, for questions that differ in more than a number. */
const WORDS = [
  ...new Set(
    readdirSync(DOCS)
      .filter((name) => name.endsWith('.md'))
      .flatMap(
        (name) =>
          readFileSync(`${DOCS}${name}`, 'utf8')
            .toLowerCase()
            .match(/[a-z]{5,}/g) ?? [],
      ),
  ),
];
/**
 * A question no one asked before, that the documents answer: one topic with three words of the
 * documents drawn at random (a numbered copy of one question would be a semantic cache hit).
 * The hits that remain are counted.
 */
function question(): string {
  asked += 1;
  const pick = () => WORDS[Math.floor(Math.random() * WORDS.length)];
  return `How do I restore a backup with ${pick()}, ${pick()} and ${pick()}? (${asked})`;
}

/** The failover's question: one the documents answer, so the stub's answer is what comes. */
function failoverQuestion(): string {
  asked += 1;
  return `How do I restore a backup and keep the limits in place? (${asked})`;
}
/** A reader address of its own per request: the Worker's per-address budget is not measured. */
const reader = () => ({
  'CF-Connecting-IP': `10.${(asked >> 16) & 255}.${(asked >> 8) & 255}.${asked & 255}`,
});

/** utime + stime of a process, in seconds, and its resident set, in MiB. */
function sample(pid: number | undefined) {
  if (pid === undefined) return { cpuSeconds: 0, rssMiB: 0, peakRssMiB: 0 };
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { cpuSeconds, rssMiB: kib('VmRSS') / 1024, peakRssMiB: kib('VmHWM') / 1024 };
}

const round2 = (value: number) => Math.round(value * 100) / 100;

/** A Worker in front of some origins: its URL and its workerd process (when known). */
interface Front {
  url: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

async function startFront(
  kind: 'workerd' | 'wrangler',
  originUrls: string[],
  secret: string,
  bundleDir: string,
): Promise<Front> {
  if (kind === 'workerd') return startBundledEdge(bundleDir, originUrls, secret);
  const edge = await startEdge({ originUrls, secret, logLevel: 'warn' });
  return { url: edge.url, pid: undefined, stop: () => edge.stop() };
}

/**
 * Runs CONCURRENCY readers against `url` for `seconds` (then waits for the answers in flight);
 * turns per second, and the CPU share and memory of every process on the path.
 */
async function measure(
  url: string,
  origins: OriginProcess[],
  seconds: number,
  options: { headers?: Record<string, string>; edgePid?: number } = {},
) {
  const pids = [...origins.map((origin) => origin.child.pid), options.edgePid];
  const before = pids.map(sample);
  const clientBefore = process.cpuUsage();
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const results: Awaited<ReturnType<typeof ask>>[] = [];
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) {
        results.push(
          await ask(url, question(), {
            headers: { ...reader(), ...options.headers },
            timeoutMs: 60_000,
          }),
        );
      }
    }),
  );
  const wallSeconds = (performance.now() - started) / 1000;
  const after = pids.map(sample);
  const client = process.cpuUsage(clientBefore);
  const summary = stats(results);
  const cost = (i: number) => ({
    cpuShare: round2((after[i]!.cpuSeconds - before[i]!.cpuSeconds) / wallSeconds),
    rssMiB: Math.round(after[i]!.rssMiB),
    peakRssMiB: Math.round(after[i]!.peakRssMiB),
  });
  await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
  return {
    turnsPerSecond: round2(summary.completed / wallSeconds),
    wallSeconds: round2(wallSeconds),
    ...summary,
    cacheHits: results.filter((r) => r.cache === 'hit').length,
    origins: origins.map((_, i) => cost(i)),
    edge: options.edgePid === undefined ? null : cost(origins.length),
    loadGeneratorCpuShare: round2((client.user + client.system) / 1e6 / wallSeconds),
  };
}

async function createSite(origin: string, secret: string) {
  const headers = {
    Authorization: `Bearer ${ADMIN_TOKEN}`,
    'Content-Type': 'application/json',
    'X-Edge-Secret': secret,
  };
  const site = await fetch(`${origin}/api/v1/sites`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ name: 'bench' }),
  });
  if (site.status !== 201) throw new Error(`create site: ${site.status}`);
  const files = readdirSync(DOCS).filter((name) => name.endsWith('.md'));
  for (const name of files) {
    const added = await fetch(`${origin}/api/v1/sites/bench/documents`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ title: name, content: readFileSync(`${DOCS}${name}`, 'utf8') }),
    });
    if (added.status !== 201) throw new Error(`add ${name}: ${added.status}`);
  }
  return files.length;
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const spread = (xs: number[]) => ({
  median: round2(median(xs)),
  min: round2(Math.min(...xs)),
  max: round2(Math.max(...xs)),
});

/** Three origins answering slowly through the stub; one is killed a third of the way in. */
async function failover(database: TestDatabase, bundleDir: string, withSite: boolean) {
  const llm = await startLlmStub();
  const { origins, secret } = await startOrigins({
    count: 3,
    database,
    redisUrl: REDIS_URL!,
    env: { LLM_BASE_URL: llm.url, LLM_MODEL: 'slow-60', CHAT_DETACH_GRACE_MS: '10000' },
  });
  let front: Front | undefined;
  try {
    front = await startFront(
      EDGE,
      origins.map((origin) => origin.url),
      secret,
      bundleDir,
    );
    if (withSite) await createSite(origins[0]!.url, secret);
    const started = performance.now();
    const deadline = started + FAILOVER_SECONDS * 1000;
    const killAtMs = (FAILOVER_SECONDS * 1000) / 3;
    const victim = origins[0]!;
    const killer = setTimeout(() => victim.child.kill('SIGKILL'), killAtMs);
    const results: Awaited<ReturnType<typeof askResuming>>[] = [];
    const url = front.url;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (performance.now() < deadline) {
          results.push(await askResuming(url, failoverQuestion(), STUB_ANSWER, reader));
        }
      }),
    );
    clearTimeout(killer);
    const takeovers = origins
      .map((origin) => origin.logs.filter((line) => line.includes('took over an answer')).length)
      .reduce((a, b) => a + b, 0);
    return {
      seconds: Math.round((performance.now() - started) / 100) / 10,
      killedAfterSeconds: killAtMs / 1000,
      llm: 'stub slow-60 (12 tokens, 60 ms before each)',
      streams: results.length,
      exact: results.filter((r) => r.exact).length,
      lost: results.filter((r) => !r.exact).length,
      resumedStreams: results.filter((r) => r.resumes > 0).length,
      resumes: results.reduce((sum, r) => sum + r.resumes, 0),
      resumedFromStart: results.reduce((sum, r) => sum + r.resumedFromStart, 0),
      askedAgainBeforeFirstEvent: results.reduce((sum, r) => sum + r.askedAgain, 0),
      takeovers,
      notExact: results
        .filter((r) => !r.exact)
        .slice(0, 5)
        .map((r) => r.received),
      outcomes: Object.fromEntries(
        [...new Set(results.map((r) => r.outcome))].map((o) => [
          o,
          results.filter((r) => r.outcome === o).length,
        ]),
      ),
    };
  } finally {
    await front?.stop();
    await Promise.all(origins.map((origin) => origin.stop()));
    await llm.close();
  }
}

type Run = Awaited<ReturnType<typeof measure>>;
/** The set-ups of one round: through the Worker to 1, 2, 3 origins; one origin directly; dev. */
const SETUPS = ['1', '2', '3', 'direct', 'wranglerDev1'] as const;

/** Every set-up once per round, in an order rotated round by round. */
async function throughput(database: TestDatabase, bundleDir: string) {
  const { origins, secret } = await startOrigins({ count: 3, database, redisUrl: REDIS_URL! });
  const fronts: Front[] = [];
  try {
    const documents = await createSite(origins[0]!.url, secret);
    for (const n of [1, 2, 3]) {
      fronts.push(
        await startFront(
          EDGE,
          origins.slice(0, n).map((origin) => origin.url),
          secret,
          bundleDir,
        ),
      );
    }
    // The local dev server's own cost, beside the bundle (skipped when it is the Worker measured).
    const dev =
      EDGE === 'workerd'
        ? await startFront('wrangler', [origins[0]!.url], secret, bundleDir)
        : undefined;
    if (dev !== undefined) fronts.push(dev);
    const direct = origins[0]!;
    const runOne = (setup: (typeof SETUPS)[number], seconds: number): Promise<Run> | null => {
      if (setup === 'direct') {
        return measure(direct.url, [direct], seconds, { headers: { 'X-Edge-Secret': secret } });
      }
      if (setup === 'wranglerDev1') {
        return dev === undefined ? null : measure(dev.url, [direct], seconds);
      }
      const n = Number(setup);
      return measure(fronts[n - 1]!.url, origins.slice(0, n), seconds, {
        edgePid: fronts[n - 1]!.pid,
      });
    };
    // Warm-up: every origin loads its models and lexical index, every Worker its isolate.
    for (const setup of SETUPS) await runOne(setup, 3);
    const loadBefore = loadavg()[0]!;
    const runs = Object.fromEntries(SETUPS.map((setup) => [setup, [] as Run[]])) as Record<
      (typeof SETUPS)[number],
      Run[]
    >;
    const orders: string[][] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      const order = SETUPS.map((_, i) => SETUPS[(i + round) % SETUPS.length]!);
      orders.push([...order]);
      for (const setup of order) {
        const run = await runOne(setup, SECONDS);
        if (run !== null) runs[setup].push(run);
      }
    }
    const loadAfter = loadavg()[0]!;
    const tps = (setup: (typeof SETUPS)[number]) => runs[setup].map((r) => r.turnsPerSecond);
    // Ratios paired within a round: each against the one-origin run of the same round.
    const paired = (n: '2' | '3') => tps(n).map((value, i) => value / tps('1')[i]!);
    const summary = Object.fromEntries(
      SETUPS.filter((setup) => runs[setup].length > 0).map((setup) => [
        setup,
        {
          turnsPerSecond: spread(tps(setup)),
          ttftP50Ms: spread(runs[setup].map((r) => r.ttftP50Ms)),
          originCpuShare: spread(runs[setup].flatMap((r) => r.origins.map((o) => o.cpuShare))),
          originRssMiB: spread(runs[setup].flatMap((r) => r.origins.map((o) => o.rssMiB))),
          originPeakRssMiB: Math.max(
            ...runs[setup].flatMap((r) => r.origins.map((o) => o.peakRssMiB)),
          ),
          edgeCpuShare: runs[setup][0]!.edge
            ? spread(runs[setup].map((r) => r.edge!.cpuShare))
            : null,
          edgeRssMiB: runs[setup][0]!.edge ? spread(runs[setup].map((r) => r.edge!.rssMiB)) : null,
          loadGeneratorCpuShare: spread(runs[setup].map((r) => r.loadGeneratorCpuShare)),
          failed: runs[setup].reduce((sum, r) => sum + r.streams - r.completed, 0),
        },
      ]),
    );
    const one = summary['1']!.turnsPerSecond;
    return {
      documents,
      loadAverage1m: { before: round2(loadBefore), after: round2(loadAfter) },
      orders,
      summary,
      ratios: {
        twoOverOnePaired: spread(paired('2')),
        threeOverOnePaired: spread(paired('3')),
        oneOriginThroughWorkerOverDirect: round2(
          one.median / summary.direct!.turnsPerSecond.median,
        ),
      },
      // "Does not fall": the median with more origins is not below the lowest one-origin round.
      notBelowOneOrigin: {
        two: summary['2']!.turnsPerSecond.median >= one.min,
        three: summary['3']!.turnsPerSecond.median >= one.min,
      },
      runs,
    };
  } finally {
    for (const front of fronts) await front.stop();
    await Promise.all(origins.map((origin) => origin.stop()));
  }
}

runMain(async () => {
  if (REDIS_URL === undefined) throw new Error('needs TEST_REDIS_URL (scripts/services.sh env)');
  const phases = values.phases.split(',');
  const database = await createTestDatabase('postgres');
  const bundleDir = mkdtempSync(join(tmpdir(), 'ragedge-scale-bundle-'));
  try {
    const bundle = bundleWorker(bundleDir);
    const scale = phases.includes('throughput') ? await throughput(database, bundleDir) : undefined;
    const fail = phases.includes('failover')
      ? await failover(database, bundleDir, scale === undefined)
      : undefined;
    const result = {
      command: `npm run bench:scale-out -- --seconds ${SECONDS} --concurrency ${CONCURRENCY} --rounds ${ROUNDS} --failover-seconds ${FAILOVER_SECONDS} --edge ${EDGE}`,
      date: new Date().toISOString(),
      machine: machineInfo(),
      setup: {
        edge:
          EDGE === 'workerd'
            ? 'the deployable bundle in workerd (Miniflare), one per set-up'
            : 'wrangler dev, one per set-up',
        bundleBytes: bundle,
        database: 'postgres',
        chatStreams: 'redis',
        answers: 'extractive',
        embedder: 'hash',
        reranker: 'none',
        concurrency: CONCURRENCY,
        secondsPerRun: SECONDS,
        rounds: ROUNDS,
      },
      ...scale,
      failover: fail,
    };
    // Only a run of both phases is a result; one phase alone is printed, for a look.
    if (scale !== undefined && fail !== undefined) writeResult('scale-out', result);
    else console.log(JSON.stringify(result, null, 2));
  } finally {
    rmSync(bundleDir, { recursive: true, force: true });
    await database.drop();
  }
});
