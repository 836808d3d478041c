import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, startHarness, type TestDatabase } from '../../origin/test/harness.js';
import { type LlmStub, startLlmStub } from '../../origin/test/llm-stub.js';
import { type ChatFailure, streamChat } from '../../web/shared/chat.js';
import { type DockerStandIn, startDockerStandIn } from './docker-stand-in.js';
import { freePort, httpsRequest, makeCertificate, ROOT, runCommand, tempDir } from './helpers.js';

/*
 * Blue-green deploys under load: 50 readers keep asking through the real nginx (TLS, the rendered
 * config) while deploy/deploy.sh switches between two real origin processes. The Docker engine is
 * the stand-in (docker-stand-in.ts); ssh runs locally; git and wrangler only record.
 */
const SERVER_NAME = 'origin.zd.test';
const PUBLIC_ORIGIN = 'https://chat.zd.test';
const READERS = 50;
/** Between two readers' first questions: 50 of them spread over ~6 s, one answer's length. */
const STAGGER_MS = 120;
const TOKEN = 'zd-admin-token-0123456789abcdef0123';

const SHIMS: Record<string, string> = {
  ssh: `#!/bin/bash
while [ "\${1#-}" != "$1" ]; do shift 2; done
shift
exec bash -c "$1"
`,
  git: `#!/bin/bash
echo "git $*" >> "$SHIM_LOG"
`,
  wrangler: `#!/bin/bash
echo "wrangler $*" >> "$SHIM_LOG"
`,
};

interface Tally {
  asked: number;
  completed: number;
  restarted: number;
  failures: ChatFailure[];
  statuses: Map<number, number>;
}

/** RSS in MB of a pid, from /proc (0 when it is gone). */
function rssMb(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const line = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return line ? Number(line[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

describe('zero-downtime deploys: blue-green under 50 readers', () => {
  let database: TestDatabase;
  let llm: LlmStub;
  let docker: DockerStandIn;
  let work: string;
  let server: string;
  let bin: string;
  let httpsPort: number;
  let key: string;
  const ports = { blue: 0, green: 0 };

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    llm = await startLlmStub();
    const h = await startHarness({ database });
    const created = await h.request('POST', '/api/v1/sites', { json: { name: 'docs' } });
    key = (await created.json()).site.publicKey;
    const docs = await h.request('POST', '/api/v1/sites/docs/documents', {
      json: {
        documents: [
          { title: 'Widget', content: '# Widget\n\nEmbed the widget with one script tag.' },
          { title: 'Deploys', content: '# Deploys\n\nA deploy switches colors without downtime.' },
        ],
      },
    });
    expect(docs.status).toBe(201);
    await h.close();

    work = tempDir('zd');
    bin = join(work, 'bin');
    mkdirSync(bin);
    for (const [name, body] of Object.entries(SHIMS))
      writeFileSync(join(bin, name), body, { mode: 0o755 });
    server = join(work, 'server');
    mkdirSync(join(server, 'run'), { recursive: true });
    cpSync(join(ROOT, 'nginx'), join(server, 'nginx'), {
      recursive: true,
      filter: (src) => !src.includes('rendered'),
    });
    symlinkSync(join(ROOT, 'scripts'), join(server, 'scripts'));
    const cert = makeCertificate(work, SERVER_NAME);
    ports.blue = await freePort();
    ports.green = await freePort();
    const httpPort = await freePort();
    httpsPort = await freePort();
    writeFileSync(
      join(server, '.env'),
      [
        `DATABASE_URL=${database.url}`,
        `ADMIN_TOKEN=${TOKEN}`,
        'EMBEDDER=hash',
        'LOG_LEVEL=warn',
        `PUBLIC_ORIGINS=${PUBLIC_ORIGIN}`,
        `LLM_BASE_URL=${llm.url}`,
        'LLM_API_KEY=stub',
        // Each answer streams for five to six seconds: longer than the 3 s the deploy waits after
        // the reload, so the no-drain switch still finds streams to cut.
        'LLM_MODEL=slow-400',
        'CACHE_SIMILARITY=1',
        'RATE_LIMIT_CHAT_PER_MINUTE=100000',
        'RATE_LIMIT_SITE_CHAT_PER_MINUTE=1000000',
        'DEMO_SITE=off',
        'SHUTDOWN_GRACE_MS=20000',
        // nginx on this machine names each reader (X-Forwarded-For); this test's client on
        // loopback plays Cloudflare, whose CF-Connecting-IP nginx then believes.
        'TRUSTED_PROXIES=127.0.0.1',
        'REAL_IP_FROM=127.0.0.1',
        `SERVER_NAME=${SERVER_NAME}`,
        `TLS_CERT=${cert.cert}`,
        `TLS_KEY=${cert.key}`,
        `UPSTREAM=127.0.0.1:${ports.blue}`,
        `MAINTENANCE_FLAG=${join(server, 'run', 'maintenance.on')}`,
        `NGINX_DIR=${join(server, 'nginx', 'rendered')}`,
        `HTTP_LISTEN=127.0.0.1:${httpPort}`,
        `HTTPS_LISTEN=127.0.0.1:${httpsPort}`,
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(work, 'ops.env'),
      `DATABASE_URL=${database.url}\nBACKUP_DIR=${join(work, 'backups')}\n`,
    );
    const render = await runCommand(
      'bash',
      ['nginx/render.sh', '--env', '.env', '--out', 'nginx/rendered'],
      { cwd: server },
    );
    expect(render.code, render.stderr).toBe(0);
    docker = await startDockerStandIn({ state: join(work, 'docker'), ports, appDir: ROOT });
    const nginx = await runCommand(
      join(docker.bin, 'docker'),
      ['compose', '-f', 'docker-compose.prod.yml', 'up', '-d', 'nginx'],
      { cwd: server },
    );
    expect(nginx.code, nginx.stdout).toBe(0);
  });

  afterAll(async () => {
    await docker?.stop();
    await llm?.close();
    await database?.drop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const deploy = (env: Record<string, string> = {}) =>
    runCommand('bash', [join(ROOT, 'deploy/deploy.sh'), 'origin'], {
      cwd: work,
      timeoutMs: 150_000,
      env: {
        PATH: `${docker.bin}:${bin}:${process.env.PATH}`,
        SHIM_LOG: join(work, 'calls.log'),
        RAGEDGE_OPS_ENV: join(work, 'ops.env'),
        DEPLOY_ENV_FILE: join(work, 'no-such-deploy.env'),
        DEPLOY_HOST: 'deploy@vps.test',
        DEPLOY_DIR: server,
        DEPLOY_BLUE_PORT: String(ports.blue),
        DEPLOY_GREEN_PORT: String(ports.green),
        DEPLOY_HEALTH_TRIES: '120',
        DEPLOY_HEALTH_INTERVAL: '0.5',
        SSH: 'ssh',
        WRANGLER: 'wrangler',
        ALERT_COMMAND: '',
        ALERT_WEBHOOK_URL: '',
        ...env,
      },
    });

  /** fetch through the real nginx: TLS with SNI for the server name, from the chat site's origin. */
  const viaNginx: typeof fetch = async (input, init) => {
    const url = new URL(String(input));
    const answer = await httpsRequest(httpsPort, SERVER_NAME, url.pathname, {
      method: init?.method ?? 'GET',
      headers: { ...(init?.headers as Record<string, string>), origin: PUBLIC_ORIGIN },
      body: init?.body as string,
      timeoutMs: 60_000,
    });
    const headers = new Headers();
    for (const [name, value] of Object.entries(answer.headers))
      if (typeof value === 'string') headers.set(name, value);
    return new Response(answer.web(), { status: answer.status, headers });
  };

  async function reader(id: number, tally: Tally, stop: { now: boolean }): Promise<void> {
    // Readers start spread over one answer's length: answers all take as long, so readers that
    // started together would stay in step, and a switch landing late in their common answer would
    // find every stream on the old color already finished (nothing to cut, half the time).
    await new Promise((resolve) => setTimeout(resolve, id * STAGGER_MS));
    for (let n = 0; !stop.now && n < 10_000; n++) {
      tally.asked += 1;
      let done = false;
      await streamChat(
        {
          url: `https://${SERVER_NAME}/api/v1/sites/docs/chat`,
          key,
          message: `How do I embed the widget (${id}.${n})?`,
          signal: new AbortController().signal,
          fetch: async (input, init) => {
            // Each reader is its own client, as behind Cloudflare: nginx limits per reader.
            const headers = {
              ...(init?.headers as Record<string, string>),
              'cf-connecting-ip': `198.51.100.${id + 1}`,
            };
            const response = await viaNginx(input, { ...init, headers });
            tally.statuses.set(response.status, (tally.statuses.get(response.status) ?? 0) + 1);
            return response;
          },
        },
        {
          meta: () => {},
          sources: () => {},
          token: () => {},
          done: () => {
            done = true;
          },
          fail: (failure) => tally.failures.push(failure),
          restart: () => {
            tally.restarted += 1;
          },
        },
      );
      if (done) tally.completed += 1;
    }
  }

  it('switches blue → green → blue with 0 failed requests; cut streams ask again and complete', async () => {
    const first = await deploy();
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/with maintenance \(first deploy\)/);
    expect(readFileSync(join(server, 'run', 'active-color'), 'utf8').trim()).toBe('blue');

    const tally: Tally = {
      asked: 0,
      completed: 0,
      restarted: 0,
      failures: [],
      statuses: new Map(),
    };
    const stop = { now: false };
    const readers = Array.from({ length: READERS }, (_, id) => reader(id, tally, stop));
    // Every reader has had an answer before the deploy starts (bounded wait).
    for (let i = 0; i < 300 && tally.completed < READERS; i++)
      await new Promise((resolve) => setTimeout(resolve, 100));
    const warm = tally.completed;
    expect(warm, 'readers answered before the deploy').toBeGreaterThanOrEqual(READERS);

    // Memory of both colors while they overlap, sampled through the deploy.
    let peak = { blue: 0, green: 0, sum: 0 };
    const sampler = setInterval(() => {
      const blue = rssMb(docker.pid('origin-blue'));
      const green = rssMb(docker.pid('origin-green'));
      if (blue + green > peak.sum) peak = { blue, green, sum: blue + green };
    }, 200);

    // No drain: the old color is stopped right after the reload settles (3 s), so its open
    // streams get `shutting_down`.
    const toGreen = await deploy({ DEPLOY_DRAIN_SECONDS: '0' });
    expect(toGreen.code, toGreen.stderr).toBe(0);
    expect(toGreen.stderr).toMatch(/blue-green, green beside blue/);
    expect(toGreen.stderr).not.toMatch(/maintenance: ON/);
    // A cut reader waits the `retry` it was given (3 s) before it asks again: waited for until
    // the count has not moved for 2 s (bounded; a loaded machine takes longer than the retry).
    let cutAt = 0;
    for (let i = 0, still = 0; i < 300 && (cutAt === 0 || still < 20); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      still = tally.restarted === cutAt ? still + 1 : 0;
      cutAt = tally.restarted;
    }

    // With a drain: the old color's streams finish on their own before it stops.
    const toBlue = await deploy({ DEPLOY_DRAIN_SECONDS: '30' });
    expect(toBlue.code, toBlue.stderr).toBe(0);
    expect(toBlue.stderr).toMatch(/draining green: 0 open stream\(s\)/);
    clearInterval(sampler);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    stop.now = true;
    await Promise.all(readers);

    const statuses = Object.fromEntries(tally.statuses);
    expect(tally.failures, JSON.stringify(statuses)).toEqual([]);
    expect(Object.keys(statuses)).toEqual(['200']);
    expect(tally.completed).toBe(tally.asked);
    expect(
      cutAt,
      `streams cut by the no-drain switch asked again; the deploy said:\n${toGreen.stderr}`,
    ).toBeGreaterThan(0);
    expect(tally.restarted, 'the drained switch cut no stream').toBe(cutAt);
    expect(tally.completed - warm).toBeGreaterThan(READERS * 2);
    expect(readFileSync(join(server, 'run', 'active-color'), 'utf8').trim()).toBe('blue');
    expect(existsSync(join(server, 'run', 'maintenance.on'))).toBe(false);
    expect(docker.pid('origin-green')).toBeUndefined();
    expect(readFileSync(join(server, 'nginx/rendered/upstream.conf'), 'utf8')).toContain(
      `server 127.0.0.1:${ports.blue};`,
    );
    expect(peak.blue).toBeGreaterThan(0);
    expect(peak.green).toBeGreaterThan(0);
    const result = {
      readers: READERS,
      asked: tally.asked,
      completed: tally.completed,
      askedAgainAfterShuttingDown: tally.restarted,
      failed: tally.failures.length,
      overlapPeakRssMb: {
        blue: Math.round(peak.blue),
        green: Math.round(peak.green),
        sum: Math.round(peak.sum),
      },
    };
    console.log(`blue-green: ${JSON.stringify(result)}`);
    if (process.env.RAGEDGE_WRITE_BENCH === '1') {
      writeFileSync(
        join(ROOT, 'bench/results/blue-green-overlap.json'),
        `${JSON.stringify(
          {
            command:
              'RAGEDGE_WRITE_BENCH=1 TEST_DB=postgres npx vitest run --project system test/ops/zero-downtime.test.ts',
            embedder: 'hash',
            measuredAt: new Date().toISOString(),
            ...result,
          },
          null,
          2,
        )}\n`,
      );
    }
  });
});
