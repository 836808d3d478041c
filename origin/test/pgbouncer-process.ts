/**
 * Debian's PgBouncer in transaction mode as a child process of a test, in front of a PostgreSQL
 * on loopback: its own free port and temp folder, stopped and removed by `stop()`.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './private-services.js';

export const PGBOUNCER_BIN = '/usr/sbin/pgbouncer';
const START_TIMEOUT_MS = 15_000;

export interface PgBouncerProcess {
  /** `postgres://…@127.0.0.1:<pgbouncer port>/<database>` for a database of the upstream. */
  urlOf(database: string): string;
  /** Runs a command on PgBouncer's admin console (e.g. `show stats`). */
  admin<T extends pg.QueryResultRow>(command: string): Promise<T[]>;
  logs: string[];
  stop(): Promise<void>;
}

/** Starts PgBouncer (transaction pooling, `poolSize` server connections per database). */
export async function startPgBouncer(upstream: {
  host: string;
  port: number;
  poolSize?: number;
  statementTimeoutMs?: number;
}): Promise<PgBouncerProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'ragedge-pgbouncer-'));
  chmodSync(dir, 0o755);
  const port = await freePort();
  const ini = join(dir, 'pgbouncer.ini');
  writeFileSync(join(dir, 'users.txt'), '"postgres" ""\n', { mode: 0o644 });
  // The server-side statement timeout comes from here: PgBouncer refuses it as a startup parameter.
  const timeout = upstream.statementTimeoutMs ?? 30_000;
  writeFileSync(
    ini,
    `[databases]
* = host=${upstream.host} port=${upstream.port} connect_query='SET statement_timeout = ${timeout}'
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${port}
unix_socket_dir =
auth_type = trust
auth_file = ${join(dir, 'users.txt')}
admin_users = postgres
pool_mode = transaction
default_pool_size = ${upstream.poolSize ?? 4}
max_client_conn = 200
server_reset_query =
`,
    { mode: 0o644 },
  );
  // PgBouncer refuses to run as root: it switches to the postgres user.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) execFileSync('id', ['postgres']);
  const child: ChildProcess = spawn(PGBOUNCER_BIN, [...(asRoot ? ['-u', 'postgres'] : []), ini], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  child.stdout!.on('data', (data: Buffer) => logs.push(data.toString()));
  child.stderr!.on('data', (data: Buffer) => logs.push(data.toString()));
  const urlOf = (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;
  const admin = async <T extends pg.QueryResultRow>(command: string) => {
    const client = new pg.Client({ connectionString: urlOf('pgbouncer') });
    client.on('error', () => {});
    await client.connect();
    try {
      // The admin console speaks the simple query protocol only.
      return (await client.query<T>(command)).rows;
    } finally {
      await client.end().catch(() => {});
    }
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = performance.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`pgbouncer exited with ${child.exitCode}:\n${logs.join('')}`);
    }
    if (
      await admin('show version').then(
        () => true,
        () => false,
      )
    )
      break;
    if (performance.now() > deadline) {
      await stop();
      throw new Error(`pgbouncer did not start in ${START_TIMEOUT_MS} ms:\n${logs.join('')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { urlOf, admin, logs, stop };
}
