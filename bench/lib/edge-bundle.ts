/**
 * The edge Worker as it is deployed, for benchmarks: bundled as `npm run build:edge` bundles it
 * and run in one workerd through Miniflare's API, with the bindings of wrangler.toml. Unlike
 * `wrangler dev` (what the tests use), nothing stands in front of it: no proxy Worker (a Durable
 * Object every request passes through), no live-reload or inspector, no per-request log line.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Miniflare } from 'miniflare';

const ROOT = new URL('../..', import.meta.url).pathname;

/** Bundles the Worker as `npm run build:edge` does, into `out`; returns the bundle's sizes. */
export function bundleWorker(out: string): { rawBytes: number; gzipBytes: number } {
  const result = spawnSync(
    process.execPath,
    [join(ROOT, 'node_modules/wrangler/bin/wrangler.js'), 'deploy', '--dry-run', '--outdir', out],
    {
      cwd: ROOT,
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
      encoding: 'utf8',
      timeout: 120_000,
    },
  );
  if (result.status !== 0) throw new Error(`wrangler deploy --dry-run failed:\n${result.stderr}`);
  const code = readFileSync(join(out, 'index.js'));
  return { rawBytes: code.length, gzipBytes: gzipSync(code).length };
}

/** A bundled Worker running in its own workerd process. */
export interface BundledEdge {
  url: string;
  /** The workerd process serving it, for CPU and memory samples. */
  pid: number | undefined;
  stop(): Promise<void>;
}

/** The pids of this process's children named `name` (from /proc). */
function childPids(name: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((entry) => {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const command = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        return command === name && parent === process.pid ? [Number(entry)] : [];
      } catch {
        return []; // gone meanwhile
      }
    });
}

/**
 * Starts the bundle in `dir` (see `bundleWorker`) in front of `originUrls` on 127.0.0.1, with the
 * KV namespace and the rate-limit bindings of wrangler.toml.
 */
export async function startBundledEdge(
  dir: string,
  originUrls: string[],
  secret: string,
): Promise<BundledEdge> {
  const before = new Set(childPids('workerd'));
  const limit = (n: number) => ({ simple: { limit: n, period: 10 as const } });
  const mf = new Miniflare({
    modules: true,
    scriptPath: join(dir, 'index.js'),
    modulesRoot: dir,
    compatibilityDate: '2025-09-01',
    host: '127.0.0.1',
    port: 0,
    bindings: { ORIGIN_URL: originUrls.join(','), EDGE_SHARED_SECRET: secret },
    kvNamespaces: ['FLAGS'],
    ratelimits: {
      CHAT_LIMITER: limit(10),
      SEARCH_LIMITER: limit(30),
      API_LIMITER: limit(100),
    },
  });
  const url = (await mf.ready).toString().replace(/\/$/, '');
  const pid = childPids('workerd').find((candidate) => !before.has(candidate));
  return { url, pid, stop: () => mf.dispose() };
}
