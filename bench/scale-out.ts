/**
 * Scale-out: chat turns per second through the Worker (workerd, `wrangler dev`) with 1, 2 and 3
 * origin processes on the same machine, sharing one PostgreSQL and one Redis (CHAT_STREAMS=redis),
 * measured in one run with the three set-ups alternating round by round, so that drift in the
 * machine's load falls on all three. Answers are extractive (no LLM: the origin's own CPU is the
 * cost), the embedder is `hash`; every question is distinct, so every turn misses the cache and
 * retrieves. Per origin it samples RSS and CPU time from /proc while it serves. Each round also
 * asks one origin directly (no Worker), to show where this machine's ceiling lies.
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
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { ADMIN_TOKEN, createTestDatabase } from '../origin/test/harness.js';
import { STUB_ANSWER, startLlmStub } from '../origin/test/llm-stub.js';
import { type Cluster, startCluster } from '../test/cluster.js';
import { type EdgeProcess, startEdge } from '../test/edge-process.js';
import type { OriginProcess } from '../test/origin-process.js';
import { ask, stats } from './lib/chat-client.js';
import { machineInfo } from './lib/machine.js';
import { runMain, writeResult } from './lib/result.js';
import { askResuming } from './lib/resuming-client.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '12' },
    rounds: { type: 'string', default: '3' },
    'failover-seconds': { type: 'string', default: '30' },
    /** `failover` alone skips the throughput runs (to look at the failover quickly). */
    phases: { type: 'string', default: 'throughput,failover' },
  },
});
const SECONDS = Number(values.seconds);
const CONCURRENCY = Number(values.concurrency);
const ROUNDS = Number(values.rounds);
const FAILOVER_SECONDS = Number(values['failover-seconds']);
const DOCS = new URL('../docs/', import.meta.url).pathname;
const REDIS_URL = process.env.TEST_REDIS_URL;
const TICKS_PER_SECOND = 100;

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
function sample(pid: number) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { cpuSeconds, rssMiB: kib('VmRSS') / 1024, peakRssMiB: kib('VmHWM') / 1024 };
}

/** Runs CONCURRENCY readers against `edge` for `seconds`; turns per second and per-origin cost. */
async function measure(
  url: string,
  origins: OriginProcess[],
  seconds: number,
  headers: Record<string, string> = {},
) {
  const before = origins.map((origin) => sample(origin.child.pid!));
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const results: Awaited<ReturnType<typeof ask>>[] = [];
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) {
        results.push(
          await ask(url, question(), { headers: { ...reader(), ...headers }, timeoutMs: 60_000 }),
        );
      }
    }),
  );
  const wallSeconds = (performance.now() - started) / 1000;
  const after = origins.map((origin) => sample(origin.child.pid!));
  const summary = stats(results);
  return {
    turnsPerSecond: Math.round((summary.completed / wallSeconds) * 100) / 100,
    ...summary,
    cacheHits: results.filter((r) => r.cache === 'hit').length,
    origins: after.map((end, i) => ({
      cpuShare: Math.round(((end.cpuSeconds - before[i]!.cpuSeconds) / wallSeconds) * 100) / 100,
      rssMiB: Math.round(end.rssMiB),
      peakRssMiB: Math.round(end.peakRssMiB),
    })),
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

/** Three origins answering slowly through the stub; one is killed a third of the way in. */
async function failover(
  database: Awaited<ReturnType<typeof createTestDatabase>>,
  withSite: boolean,
) {
  const llm = await startLlmStub();
  let cluster: Cluster | undefined;
  try {
    cluster = await startCluster({
      count: 3,
      database,
      redisUrl: REDIS_URL!,
      edgeLogLevel: 'warn',
      env: {
        LLM_BASE_URL: llm.url,
        LLM_MODEL: 'slow-60',
        CHAT_DETACH_GRACE_MS: '10000',
      },
    });
    const { edge, origins } = cluster;
    if (withSite) await createSite(origins[0]!.url, cluster.secret);
    const started = performance.now();
    const deadline = started + FAILOVER_SECONDS * 1000;
    const killAtMs = (FAILOVER_SECONDS * 1000) / 3;
    const victim = origins[0]!;
    const killer = setTimeout(() => victim.child.kill('SIGKILL'), killAtMs);
    const results: Awaited<ReturnType<typeof askResuming>>[] = [];
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (performance.now() < deadline) {
          results.push(await askResuming(edge.url, failoverQuestion(), STUB_ANSWER, reader));
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
    await cluster?.stop();
    await llm.close();
  }
}

/** The three set-ups in turn, round by round, on one cluster of three origins. */
async function throughput(database: Awaited<ReturnType<typeof createTestDatabase>>) {
  let cluster: Cluster | undefined;
  const edges: EdgeProcess[] = [];
  try {
    cluster = await startCluster({
      count: 3,
      database,
      redisUrl: REDIS_URL!,
      edgeLogLevel: 'warn',
    });
    const documents = await createSite(cluster.origins[0]!.url, cluster.secret);
    // The cluster's own Worker fronts all three; one more each for one and two origins.
    for (const n of [1, 2]) {
      edges.push(
        await startEdge({
          originUrls: cluster.origins.slice(0, n).map((origin) => origin.url),
          secret: cluster.secret,
          logLevel: 'warn',
        }),
      );
    }
    edges.push(cluster.edge);
    // Warm-up: every origin loads its models and lexical index before anything is timed.
    await measure(cluster.edge.url, cluster.origins, 5);
    const loadBefore = loadavg()[0]!;
    const runs: Record<string, Awaited<ReturnType<typeof measure>>[]> = {
      1: [],
      2: [],
      3: [],
      direct: [],
    };
    const direct = cluster.origins[0]!;
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const n of [1, 2, 3]) {
        runs[n]!.push(await measure(edges[n - 1]!.url, cluster.origins.slice(0, n), SECONDS));
      }
      // One origin without the Worker: where the ceiling of this machine lies.
      runs.direct!.push(
        await measure(direct.url, [direct], SECONDS, { 'X-Edge-Secret': cluster.secret }),
      );
    }
    const loadAfter = loadavg()[0]!;
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const perOrigins = Object.fromEntries(
      Object.entries(runs).map(([n, list]) => [
        n,
        { turnsPerSecondMedian: median(list.map((r) => r.turnsPerSecond)), rounds: list },
      ]),
    );
    const tps = (n: number) => perOrigins[n]!.turnsPerSecondMedian;
    return {
      documents,
      loadAverage1m: {
        before: Math.round(loadBefore * 10) / 10,
        after: Math.round(loadAfter * 10) / 10,
      },
      turnsPerSecond: perOrigins,
      ratios: {
        twoOverOne: Math.round((tps(2) / tps(1)) * 100) / 100,
        threeOverOne: Math.round((tps(3) / tps(1)) * 100) / 100,
        oneOriginThroughWorkerOverDirect:
          Math.round((tps(1) / perOrigins.direct!.turnsPerSecondMedian) * 100) / 100,
      },
    };
  } finally {
    for (const edge of edges.slice(0, 2)) await edge.stop();
    await cluster?.stop();
  }
}

runMain(async () => {
  if (REDIS_URL === undefined) throw new Error('needs TEST_REDIS_URL (scripts/services.sh env)');
  const phases = values.phases.split(',');
  const database = await createTestDatabase('postgres');
  try {
    const scale = phases.includes('throughput') ? await throughput(database) : undefined;
    const fail = phases.includes('failover')
      ? await failover(database, scale === undefined)
      : undefined;
    const result = {
      command: `npm run bench:scale-out -- --seconds ${SECONDS} --concurrency ${CONCURRENCY} --rounds ${ROUNDS} --failover-seconds ${FAILOVER_SECONDS}`,
      date: new Date().toISOString(),
      machine: machineInfo(),
      setup: {
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
    await database.drop();
  }
});
