/**
 * The VPS memory budget, measured: each service of docker-compose.prod.yml run here as a real
 * process with the same settings (PostgreSQL 15 + pgvector with the compose file's `-c` values,
 * the two Redis with their compose command lines, nginx with the rendered config, the origin),
 * loaded, and weighed by PSS (proportional set size: shared pages split among the processes that
 * share them, so summing a process tree does not count shared_buffers once per backend).
 *
 *   npx tsx bench/ops-memory.ts [--chunks 20000]
 *
 * Writes bench/results/ops-memory.json. The origin runs the `hash` embedder (no model weights
 * can be downloaded here): its figure is a floor; the models' share comes from BENCHMARKS.md#memory.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import { ADMIN_TOKEN } from '../origin/test/harness.js';
import {
  freePort,
  makeCertificate,
  ROOT,
  runCommand,
  startNginx,
  tempDir,
} from '../test/ops/helpers.js';
import { startOrigin } from '../test/origin-process.js';

const { values } = parseArgs({ options: { chunks: { type: 'string', default: '20000' } } });
const CHUNKS = Number(values.chunks);
const PG_BIN = '/usr/lib/postgresql/15/bin';
const MiB = 1024 * 1024;

/** PSS of a process and all its descendants, in bytes. */
function treePss(root: number): number {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // The process ended while we listed it.
    }
  }
  let total = 0;
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    try {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      total += Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0) * 1024;
    } catch {
      // Gone already.
    }
    stack.push(...(children.get(pid) ?? []));
  }
  return total;
}

/** Samples a tree's PSS every 100 ms while `work` runs; resolves to the peak. */
async function peakDuring(root: number, work: () => Promise<unknown>): Promise<number> {
  let peak = treePss(root);
  const timer = setInterval(() => {
    peak = Math.max(peak, treePss(root));
  }, 100);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, treePss(root));
}

const mb = (bytes: number) => Math.round((bytes / MiB) * 10) / 10;

/** The `-c name=value` settings of the db service in docker-compose.prod.yml. */
function composeSettings(): { postgres: string[]; redisCache: string[]; redisLimits: string[] } {
  const json = execFileSync('python3', [
    '-c',
    'import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)',
    join(ROOT, 'docker-compose.prod.yml'),
  ]).toString();
  const services = (JSON.parse(json) as { services: Record<string, { command: string }> }).services;
  const words = (command: string) =>
    (command.match(/"[^"]*"|\S+/g) ?? []).map((word) => word.replace(/^"(.*)"$/, '$1'));
  return {
    postgres: words(services.db!.command).slice(1),
    redisCache: words(services['redis-cache']!.command).slice(1),
    redisLimits: words(services['redis-limits']!.command).slice(1),
  };
}

/** Whether something accepts TCP connections on the loopback port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await once(child, 'exit');
  clearTimeout(timer);
}

async function main(): Promise<void> {
  const settings = composeSettings();
  const dir = tempDir('memory');
  chmodSync(dir, 0o755);
  const started: Array<() => Promise<void>> = [];
  const results: Record<string, unknown> = {};
  try {
    // --- PostgreSQL with the production settings (as the postgres user: it refuses root) ---
    const data = join(dir, 'pg');
    mkdirSync(data);
    execFileSync('chown', ['postgres:postgres', data]);
    const asPg = (cmd: string, args: string[]) =>
      process.getuid?.() === 0
        ? (['runuser', ['-u', 'postgres', '--', cmd, ...args]] as const)
        : ([cmd, args] as const);
    const [initCmd, initArgs] = asPg(`${PG_BIN}/initdb`, [
      '-D',
      data,
      '--auth=trust',
      '--username=postgres',
      '--no-sync',
    ]);
    execFileSync(initCmd, initArgs, { stdio: 'ignore' });
    const pgPort = await freePort();
    const [pgCmd, pgArgs] = asPg(`${PG_BIN}/postgres`, [
      '-D',
      data,
      '-p',
      String(pgPort),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `unix_socket_directories=${data}`,
      ...settings.postgres,
    ]);
    const postgres = spawn(pgCmd, pgArgs, { stdio: 'ignore' });
    started.push(() => stopChild(postgres, 'SIGINT'));
    const url = `postgres://postgres@127.0.0.1:${pgPort}/postgres`;
    for (let i = 0; ; i += 1) {
      const probe = new pg.Client({ connectionString: url });
      try {
        await probe.connect();
        await probe.end();
        break;
      } catch {
        if (i > 100) throw new Error('PostgreSQL did not start');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    const postmaster = () =>
      Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const migrate = await runCommand(
      process.execPath,
      ['--import', 'tsx', 'origin/tools/cli/main.ts', 'migrate'],
      {
        env: { DATABASE_URL: url, EMBEDDER: 'hash' },
      },
    );
    if (migrate.code !== 0) throw new Error(`migrate failed: ${migrate.stderr}`);
    const pgIdle = treePss(postmaster());

    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`insert into sites (name, title, public_key, embedder, embedding_dim)
      values ('bench', 'bench', 'pk_bench', 'bench', 384)`);
    await client.query(`insert into documents (site_id, source, title, format, content_hash)
      select 1, 'doc-' || g, 'Doc ' || g, 'text', md5(g::text) from generate_series(1, 200) g`);
    const load = performance.now();
    const pgLoad = await peakDuring(postmaster(), () =>
      client.query(
        `insert into chunks (document_id, site_id, position, content, token_count, embedding)
        select 1 + g % 200, 1, g, 'chunk ' || g || ' about backups and restores and vectors', 8,
               (select array_agg(random())::vector from generate_series(1, 384) d where d > -g)
        from generate_series(1, $1::int) g`,
        [CHUNKS],
      ),
    );
    const loadMs = performance.now() - load;
    const build = performance.now();
    const pgIndex = await peakDuring(postmaster(), () =>
      client.query(
        `create index bench_hnsw on chunks using hnsw ((embedding::vector(384)) vector_cosine_ops)`,
      ),
    );
    const buildMs = performance.now() - build;
    const probe = (
      await client.query<{ e: string }>('select embedding::text as e from chunks limit 1')
    ).rows[0]!.e;
    const pgQueries = await peakDuring(postmaster(), async () => {
      for (let i = 0; i < 200; i += 1) {
        await client.query(
          'select id from chunks order by embedding::vector(384) <=> $1::vector(384) limit 10',
          [probe],
        );
      }
    });
    await client.end();
    results.postgres = {
      settings: settings.postgres.filter((word) => word !== '-c'),
      chunks: CHUNKS,
      idleMB: mb(pgIdle),
      peakLoadMB: mb(pgLoad),
      peakHnswBuildMB: mb(pgIndex),
      peakKnnMB: mb(pgQueries),
      loadSeconds: Math.round(loadMs / 100) / 10,
      hnswBuildSeconds: Math.round(buildMs / 100) / 10,
    };

    // --- the two Redis, with their compose command lines ---
    for (const [name, args, fill] of [
      ['redisCache', settings.redisCache, 200_000],
      ['redisLimits', settings.redisLimits, 100_000],
    ] as const) {
      const port = await freePort();
      const redisDir = join(dir, name);
      mkdirSync(redisDir);
      const redis = spawn(
        '/usr/bin/redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--dir', redisDir, ...args],
        {
          stdio: 'ignore',
        },
      );
      started.push(() => stopChild(redis));
      let redisLog = '';
      redis.once('exit', (code) => {
        redisLog += `exited with ${code}`;
      });
      for (let i = 0; !(await accepts(port)); i += 1) {
        if (i > 50) throw new Error(`${name} did not start: ${redisLog}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const client = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
      const idle = treePss(redis.pid!);
      let refused = 0;
      const value = 'x'.repeat(512);
      for (let i = 0; i < fill; i += 1000) {
        const batch = client.pipeline();
        for (let j = i; j < i + 1000; j += 1) batch.set(`ragedge:k:${j}`, value, 'EX', 3600);
        const replies = (await batch.exec()) ?? [];
        refused += replies.filter(([error]: [Error | null, unknown]) => error !== null).length;
      }
      const info = await client.info('memory');
      const stats = await client.info('stats');
      const field = (text: string, key: string) =>
        Number(new RegExp(`^${key}:(\\d+)`, 'm').exec(text)?.[1] ?? 0);
      results[name] = {
        args,
        idleMB: mb(idle),
        fullMB: mb(treePss(redis.pid!)),
        keysWritten: fill,
        usedMemoryMB: mb(field(info, 'used_memory')),
        maxmemoryMB: mb(field(info, 'maxmemory')),
        evictedKeys: field(stats, 'evicted_keys'),
        writesRefused: refused,
      };
      client.disconnect();
    }

    // --- the origin (hash embedder), ingesting and answering, behind nginx ---
    const origin = await startOrigin({
      DATABASE_URL: url,
      DATA_DIR: join(dir, 'origin-data'),
      NODE_ENV: 'production',
      TRUSTED_PROXIES: 'none',
      ADMIN_TOKEN,
      EMBEDDER: 'hash',
      RERANKER: 'lexical',
    });
    started.push(async () => {
      await origin.stop();
    });
    const originIdle = treePss(origin.child.pid!);
    const headers = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
    await fetch(`${origin.url}/api/v1/sites`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: 'docs' }),
    });
    const originBusy = await peakDuring(origin.child.pid!, async () => {
      for (let i = 0; i < 20; i += 1) {
        const documents = Array.from({ length: 10 }, (_, j) => ({
          title: `Doc ${i}-${j}`,
          content: `# Doc ${i}-${j}\n\n${'The backup job dumps the database every night and keeps seven. '.repeat(40)}`,
        }));
        await fetch(`${origin.url}/api/v1/sites/docs/documents`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ documents }),
        });
      }
      await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          const response = await fetch(`${origin.url}/api/v1/sites/docs/chat`, {
            method: 'POST',
            headers,
            body: JSON.stringify({ message: `How many backups are kept? (${i})` }),
          });
          await response.text();
        }),
      );
    });

    const nginxDir = tempDir('memory-nginx');
    chmodSync(nginxDir, 0o755);
    const cert = makeCertificate(nginxDir, 'example.test');
    const httpPort = await freePort();
    const httpsPort = await freePort();
    const render = await runCommand(
      'bash',
      ['nginx/render.sh', '--out', join(nginxDir, 'rendered')],
      {
        env: {
          SERVER_NAME: 'example.test',
          TLS_CERT: cert.cert,
          TLS_KEY: cert.key,
          UPSTREAM: new URL(origin.url).host,
          MAINTENANCE_FLAG: join(nginxDir, 'maintenance.on'),
          HTTP_LISTEN: `127.0.0.1:${httpPort}`,
          HTTPS_LISTEN: `127.0.0.1:${httpsPort}`,
        },
      },
    );
    if (render.code !== 0) throw new Error(render.stderr);
    const nginx = await startNginx(nginxDir, join(nginxDir, 'rendered', 'ragedge.conf'), {
      httpPort,
      httpsPort,
    });
    started.push(async () => {
      await nginx.stop();
      rmSync(nginxDir, { recursive: true, force: true });
    });
    const { httpsRequest } = await import('../test/ops/helpers.js');
    const nginxBusy = await peakDuring(nginx.child.pid!, async () => {
      for (let i = 0; i < 200; i += 1) {
        const answer = await httpsRequest(httpsPort, 'example.test', '/api/v1/health');
        await answer.text();
      }
    });
    results.origin = {
      embedder: 'hash (no model weights here: a floor, see BENCHMARKS.md#memory for the models)',
      idleMB: mb(originIdle),
      peakIngest200DocsAnd50ChatsMB: mb(originBusy),
      afterMB: mb(treePss(origin.child.pid!)),
    };
    results.nginx = { peak200HttpsRequestsMB: mb(nginxBusy), workers: 1 };
  } finally {
    for (const stop of started.reverse()) await stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }

  const output = {
    command: `npx tsx bench/ops-memory.ts --chunks ${CHUNKS}`,
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memoryMB: Math.round(totalmem() / MiB),
    },
    measure: 'PSS (proportional set size) of each service process tree',
    ...results,
  };
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(
    join(ROOT, 'bench/results/ops-memory.json'),
    `${JSON.stringify(output, null, 2)}\n`,
  );
  process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`ops-memory: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
