import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import type { Redis } from 'ioredis';
import { connectRedis, waitForRedis } from './redis.js';

/** Test helpers for code that talks to Redis. Not used at run time. */

/** A loopback port nothing listens on (free when checked). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** A key prefix unique to this test run, so parallel runs never share keys. */
export function uniquePrefix(name: string): string {
  return `test:${name}:${randomUUID()}:`;
}

/** Deletes every key starting with `prefix`. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

/** Connects to `url` and waits until ready; throws when it is not ready in 5 s. */
export async function connectForTest(url: string, name: string): Promise<Redis> {
  const client = connectRedis(url, { name, commandTimeoutMs: 5000 });
  if (!(await waitForRedis(client))) {
    client.disconnect();
    throw new Error(`redis at ${url} is not up`);
  }
  return client;
}

/** A private `redis-server` on a free loopback port, started with `args`; `stop()` kills it. */
export async function startPrivateRedis(
  args: string[],
): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args],
    { stdio: 'ignore' },
  );
  const url = `redis://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  const probe = connectRedis(url, { name: 'probe', maxBackoffMs: 100 });
  const up = await waitForRedis(probe, 5000);
  probe.disconnect();
  if (!up) {
    await stop();
    throw new Error(`private redis-server on port ${port} did not start in 5 s`);
  }
  return { url, stop };
}
