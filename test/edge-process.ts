import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = new URL('..', import.meta.url).pathname;
const WRANGLER = join(ROOT, 'node_modules/wrangler/bin/wrangler.js');
/** Shorter than production's 5 s, so that `setMaintenance` returns once the change is seen. */
const FLAG_CACHE_MS = 500;

export interface EdgeOptions {
  /** The origins the Worker forwards to (its `ORIGIN_URL`, joined with commas). */
  originUrls: string[];
  /** The chat site to serve as static assets; a one-page fixture when omitted. */
  assetsDir?: string;
  /** More Worker variables, e.g. `{ ORIGIN_TIMEOUT_MS: '2000' }`. */
  vars?: Record<string, string>;
  /** The shared secret the Worker sends; a random one when omitted (see `EdgeProcess.secret`). */
  secret?: string;
  /** wrangler's log level; `warn` drops the line it logs per request (benchmarks). */
  logLevel?: 'info' | 'warn';
  /** Bound on the wait for `wrangler dev` to be ready. */
  timeoutMs?: number;
}

/** The edge Worker running in workerd (`wrangler dev`), in front of the given origins. */
export interface EdgeProcess {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** The `X-Edge-Secret` it sends: start the origin with `EDGE_SHARED_SECRET` set to it. */
  secret: string;
  /** wrangler's and the Worker's output, line by line. */
  logs: string[];
  /**
   * Sets or clears the maintenance flag (the `FLAGS` KV key the deploy script uses) and returns
   * once every request sees the change.
   */
  setMaintenance(on: boolean): Promise<void>;
  /** Stops workerd and removes the temporary state; safe to call twice. */
  stop(): Promise<void>;
}

/** A random secret of the length the origin and the Worker require. */
export function newEdgeSecret(): string {
  return randomBytes(24).toString('base64url');
}

/** A free loopback port (the OS picks one; it stays free unless someone races for it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/**
 * Starts the Worker of the top-level `wrangler.toml` in `wrangler dev` on 127.0.0.1 with a
 * private state directory, and waits (bounded) until it serves. The secret is passed in an env
 * file inside the temporary directory, never on the command line.
 */
export async function startEdge(options: EdgeOptions): Promise<EdgeProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'ragedge-edge-'));
  const state = join(dir, 'state');
  const secret = options.secret ?? newEdgeSecret();
  const envFile = join(dir, 'secrets.env');
  await writeFile(envFile, `EDGE_SHARED_SECRET=${secret}\n`, { mode: 0o600 });
  let assetsDir = options.assetsDir;
  if (assetsDir === undefined) {
    assetsDir = join(dir, 'site');
    await mkdir(assetsDir, { recursive: true });
    await writeFile(
      join(assetsDir, 'index.html'),
      '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>ragedge fixture</title></head><body><div id="app">fixture site</div></body></html>\n',
    );
  }
  const port = await freePort();
  const inspectorPort = await freePort();
  const vars = {
    ORIGIN_URL: options.originUrls.join(','),
    MAINTENANCE_CACHE_MS: String(FLAG_CACHE_MS),
    ...options.vars,
  };
  const args = [
    WRANGLER,
    'dev',
    '--config',
    join(ROOT, 'wrangler.toml'),
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--inspector-port',
    String(inspectorPort),
    '--persist-to',
    state,
    '--assets',
    assetsDir,
    '--env-file',
    envFile,
    '--show-interactive-dev-session=false',
    '--live-reload=false',
    '--log-level',
    options.logLevel ?? 'info',
    ...Object.entries(vars).flatMap(([name, value]) => ['--var', `${name}:${value}`]),
  ];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      WRANGLER_SEND_METRICS: 'false',
      CI: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: workerd is wrangler's child and must stop with it.
    detached: true,
  });
  const logs: string[] = [];
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForReady(child, url, logs, options.timeoutMs ?? 90_000);
  } catch (error) {
    await stopGroup(child);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  let stopped = false;
  return {
    url,
    secret,
    logs,
    async setMaintenance(on) {
      const action = on ? ['put', 'maintenance', '1'] : ['delete', 'maintenance'];
      await wrangler(
        ['kv', 'key', ...action, '--binding', 'FLAGS', '--local', '--persist-to', state],
        dir,
      );
      // The Worker may have read the flag just before the change: wait out its cache.
      const cacheMs = Number(vars.MAINTENANCE_CACHE_MS);
      await new Promise((resolve) => setTimeout(resolve, cacheMs + 100));
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopGroup(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Waits until the Worker answers over HTTP (any response: it answers every path), bounded, and
 * fails early with wrangler's output if wrangler exits first.
 */
async function waitForReady(child: ChildProcess, url: string, logs: string[], timeoutMs: number) {
  const keep = (line: string) => {
    if (logs.length < 5_000) logs.push(line);
  };
  createInterface({ input: child.stdout! }).on('line', keep);
  createInterface({ input: child.stderr! }).on('line', keep);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `wrangler dev exited (${child.exitCode ?? child.signalCode}):\n${logs.join('\n')}`,
      );
    }
    try {
      const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) });
      await response.arrayBuffer();
      // Set by the Worker on every response: the user Worker is up, not only wrangler's proxy.
      if (response.headers.has('x-request-id')) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`wrangler dev not ready in ${timeoutMs} ms:\n${logs.join('\n')}`);
}

async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = once(child, 'exit');
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, name);
    } catch {
      // the group is gone already
    }
  };
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
  // workerd may outlive wrangler by a moment; make sure nothing of the group is left.
  signal('SIGKILL');
}

/** Runs a wrangler command to completion (bounded), failing with its output. */
async function wrangler(args: string[], cwd: string, timeoutMs = 60_000): Promise<void> {
  const child = spawn(
    process.execPath,
    [WRANGLER, ...args, '--config', join(ROOT, 'wrangler.toml')],
    {
      cwd,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        WRANGLER_SEND_METRICS: 'false',
        CI: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout!.on('data', (data: Buffer) => {
    output += data.toString();
  });
  child.stderr!.on('data', (data: Buffer) => {
    output += data.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = await once(child, 'exit');
  clearTimeout(timer);
  if (code !== 0) throw new Error(`wrangler ${args.join(' ')} failed (${code}):\n${output}`);
}
