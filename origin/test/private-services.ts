/**
 * Private PostgreSQL and Redis servers for fault tests: each on its own free loopback port and
 * temp folder, so a test may stop and restart them without touching the shared services that
 * other suites use. Each is a child process of the test; `destroy()` kills it and removes its
 * folder (call it in `afterAll`).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';

const PG_BIN = '/usr/lib/postgresql/15/bin';

/**
 * How long fault tests let an origin process take to listen: PGlite's WebAssembly start and
 * migrations take half a minute on a 2-core machine that other suites keep busy.
 */
export const ORIGIN_START_MS = 120_000;
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface PrivateServer {
  readonly url: string;
  /** Whether the server process is running now. */
  readonly running: boolean;
  /** Starts it (again) on the same port and data, and waits until it accepts connections. */
  start(): Promise<void>;
  /** Stops it the way an operator's restart does, and waits for the process to exit. */
  stop(): Promise<void>;
  /** Stops it if running and removes its data folder. */
  destroy(): Promise<void>;
}

async function stopChild(child: ChildProcess | null, signal: NodeJS.Signals): Promise<void> {
  if (child === null || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

async function waitUntil(check: () => Promise<boolean>, what: string, logs: string[]) {
  const deadline = performance.now() + START_TIMEOUT_MS;
  while (performance.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} did not start in ${START_TIMEOUT_MS} ms:\n${logs.join('')}`);
}

/** Runs as the `postgres` user when we are root: PostgreSQL refuses to run as root. */
function postgresUser(): { uid: number; gid: number } | Record<string, never> {
  if (process.getuid?.() !== 0) return {};
  return {
    uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()),
    gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim()),
  };
}

/**
 * A PostgreSQL 15 cluster of our own (initdb into a temp folder), with database `rag` and the
 * `vector` extension. `stop()` is a fast shutdown: open sessions get 57P01 admin_shutdown.
 */
export async function startPrivatePostgres(): Promise<PrivateServer> {
  const user = postgresUser();
  const base = mkdtempSync(join(tmpdir(), 'ragedge-pg-'));
  chmodSync(base, 0o700);
  if ('uid' in user) chownSync(base, user.uid, user.gid);
  const data = join(base, 'data');
  execFileSync(
    join(PG_BIN, 'initdb'),
    [
      '-D',
      data,
      '--auth=trust',
      '--username=postgres',
      '--encoding=UTF8',
      '--locale=C.UTF-8',
      '--no-sync',
    ],
    { ...user, stdio: 'ignore', timeout: 60_000 },
  );
  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/rag`;
  const logs: string[] = [];
  let child: ChildProcess | null = null;
  const canConnect = async (database: string) => {
    const client = new pg.Client({
      connectionString: `postgres://postgres@127.0.0.1:${port}/${database}`,
      connectionTimeoutMillis: 1_000,
    });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query('select 1');
      return true;
    } finally {
      await client.end().catch(() => {});
    }
  };
  const server: PrivateServer = {
    url,
    get running() {
      return child !== null && child.exitCode === null && child.signalCode === null;
    },
    async start() {
      child = spawn(
        join(PG_BIN, 'postgres'),
        [
          '-D',
          data,
          '-c',
          `port=${port}`,
          '-c',
          'listen_addresses=127.0.0.1',
          '-c',
          'unix_socket_directories=',
          '-c',
          'fsync=off',
          '-c',
          'synchronous_commit=off',
          '-c',
          'full_page_writes=off',
          '-c',
          'max_connections=50',
          '-c',
          'shared_buffers=32MB',
        ],
        { ...user, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      child.stderr!.on('data', (chunk: Buffer) => {
        if (logs.length < 200) logs.push(chunk.toString());
      });
      await waitUntil(() => canConnect('postgres'), `private PostgreSQL on ${port}`, logs);
    },
    stop: () => stopChild(child, 'SIGINT'),
    async destroy() {
      await stopChild(child, 'SIGQUIT');
      rmSync(base, { recursive: true, force: true });
    },
  };
  try {
    await server.start();
    const admin = new pg.Client({
      connectionString: `postgres://postgres@127.0.0.1:${port}/postgres`,
    });
    await admin.connect();
    await admin.query('create database rag');
    await admin.end();
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    await db.query('create extension if not exists vector');
    await db.end();
  } catch (error) {
    await server.destroy();
    throw error;
  }
  return server;
}

/** A redis-server of our own, in memory only (no RDB, no AOF). */
export async function startPrivateRedis(): Promise<PrivateServer> {
  const dir = mkdtempSync(join(tmpdir(), 'ragedge-redis-'));
  const port = await freePort();
  const logs: string[] = [];
  let child: ChildProcess | null = null;
  const ping = async () => {
    const client = new Redis({
      host: '127.0.0.1',
      port,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    client.on('error', () => {});
    try {
      await client.connect();
      return (await client.ping()) === 'PONG';
    } finally {
      client.disconnect();
    }
  };
  const server: PrivateServer = {
    url: `redis://127.0.0.1:${port}`,
    get running() {
      return child !== null && child.exitCode === null && child.signalCode === null;
    },
    async start() {
      child = spawn(
        '/usr/bin/redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--save',
          '',
          '--appendonly',
          'no',
          '--dir',
          dir,
          '--maxmemory-policy',
          'noeviction',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      for (const stream of [child.stdout!, child.stderr!])
        stream.on('data', (chunk: Buffer) => {
          if (logs.length < 200) logs.push(chunk.toString());
        });
      await waitUntil(ping, `private Redis on ${port}`, logs);
    },
    stop: () => stopChild(child, 'SIGTERM'),
    async destroy() {
      await stopChild(child, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await server.start();
  } catch (error) {
    await server.destroy();
    throw error;
  }
  return server;
}
