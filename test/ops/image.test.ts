import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, createTestDatabase, type TestDatabase } from '../../origin/test/harness.js';
import { freePort, ROOT, runCommand, tempDir } from './helpers.js';

/** The Dockerfile's instructions, continuation lines joined, comments dropped. */
function instructions(text: string): Array<{ op: string; args: string; stage: number }> {
  const joined = text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n')
    .replace(/\\\n/g, ' ');
  let stage = -1;
  return joined
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [, op = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
      if (op.toUpperCase() === 'FROM') stage += 1;
      return { op: op.toUpperCase(), args, stage };
    });
}

const dockerfile = readFileSync(join(ROOT, 'origin/Dockerfile'), 'utf8');
const steps = instructions(dockerfile);
const lastStage = Math.max(...steps.map((s) => s.stage));
const final = steps.filter((s) => s.stage === lastStage);

// hadolint is not installable here (no Docker Hub, not in Debian 12): these checks stand in for
// the rules that matter to us, and the build's own commands are run below outside Docker.
describe('origin/Dockerfile', () => {
  it('is multi-stage on node:20-bookworm-slim, the runtime stage last', () => {
    const froms = steps.filter((s) => s.op === 'FROM');
    expect(froms.length).toBeGreaterThanOrEqual(3);
    expect(steps.find((s) => s.op === 'ARG' && s.args.startsWith('NODE_IMAGE='))?.args).toBe(
      'NODE_IMAGE=node:20-bookworm-slim',
    );
    expect(froms.at(-1)!.args).toMatch(/^\$\{NODE_IMAGE\} AS runtime$/);
    // The runtime stage starts from the slim base, not from a stage holding dev dependencies.
    expect(
      final
        .filter((s) => s.op === 'RUN')
        .map((s) => s.args)
        .join('\n'),
    ).not.toMatch(/npm (ci|install)/);
  });

  it('runs as a non-root user with a HEALTHCHECK that needs no curl, and starts through docker-start.sh', () => {
    const users = final.filter((s) => s.op === 'USER');
    expect(users.length).toBe(1);
    expect(users[0]!.args).not.toMatch(/^(root|0)(:|$)/);
    const health = final.find((s) => s.op === 'HEALTHCHECK');
    expect(health?.args).toMatch(/CMD \["node", "-e", "fetch\(.*\/api\/v1\/health/);
    expect(steps.map((s) => s.args).join('\n')).not.toMatch(/\bcurl\b|\bwget\b/);
    expect(final.at(-1)).toMatchObject({ op: 'CMD', args: '["/app/docker-start.sh"]' });
  });

  it('installs CPU-only onnxruntime and fetches the models at build time', () => {
    const env = steps
      .filter((s) => s.op === 'ENV')
      .map((s) => s.args)
      .join(' ');
    expect(env).toContain('ONNXRUNTIME_NODE_INSTALL_CUDA=skip');
    expect(
      steps.some(
        (s) =>
          s.op === 'RUN' &&
          s.args.includes(
            'npm run models:fetch -- --models-dir /app/models --hub-url "$HF_HUB_URL"',
          ),
      ),
    ).toBe(true);
    expect(final.some((s) => s.op === 'COPY' && s.args === '--from=build /app/models models')).toBe(
      true,
    );
    expect(final.find((s) => s.op === 'ENV')?.args).toContain('MODELS_DIR=/app/models');
  });

  it('holds no secret and copies only files that exist', () => {
    for (const step of steps.filter((s) => s.op === 'ENV' || s.op === 'ARG')) {
      expect(step.args, step.args).not.toMatch(/(PASSWORD|SECRET|TOKEN|API_KEY|DATABASE_URL)\w*=/i);
    }
    for (const step of steps.filter((s) => s.op === 'COPY' && !s.args.startsWith('--from'))) {
      const sources = step.args
        .split(/\s+/)
        .filter((a) => !a.startsWith('--'))
        .slice(0, -1);
      for (const source of sources) expect(existsSync(join(ROOT, source)), source).toBe(true);
    }
    const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['.env', '**/node_modules', '.git', 'models', 'data'])
      expect(ignore).toContain(entry);
  });
});

describe('the image layout, built and started outside Docker', () => {
  let dir: string;
  let database: TestDatabase;
  let child: ChildProcess | undefined;
  let logs = '';

  beforeAll(async () => {
    dir = tempDir('image');
    database = await createTestDatabase('postgres');
  });
  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    await database?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("the build stage's transpile + widget RUN, then docker-start.sh: migrates, serves, sized heap", async () => {
    // The build context, as `COPY` lays it out in /app.
    const build = join(dir, 'build');
    mkdirSync(build);
    for (const path of [
      'package.json',
      'tsconfig.json',
      'contract',
      'origin/src',
      'origin/tools',
      'web',
    ]) {
      cpSync(join(ROOT, path), join(build, path), { recursive: true });
    }
    symlinkSync(join(ROOT, 'node_modules'), join(build, 'node_modules'));
    const transpile = steps.find(
      (s) => s.op === 'RUN' && s.args.startsWith('find ') && s.args.includes(' origin/src '),
    );
    expect(transpile).toBeDefined();
    const built = await runCommand('sh', ['-c', transpile!.args], {
      cwd: build,
      timeoutMs: 120_000,
    });
    expect(built.stderr).toBe('');
    expect(built.code).toBe(0);

    // The runtime stage's COPY lines, by hand: package.json, node_modules, origin, the wire
    // contract, the widget, the admin console.
    const app = join(dir, 'app');
    mkdirSync(join(app, 'dist'), { recursive: true });
    cpSync(join(ROOT, 'package.json'), join(app, 'package.json'));
    symlinkSync(join(ROOT, 'node_modules'), join(app, 'node_modules'));
    cpSync(join(build, 'out/origin'), join(app, 'origin'), { recursive: true });
    cpSync(join(build, 'out/contract'), join(app, 'contract'), { recursive: true });
    cpSync(join(build, 'dist/widget'), join(app, 'dist/widget'), { recursive: true });
    cpSync(join(build, 'dist/admin'), join(app, 'dist/admin'), { recursive: true });
    cpSync(join(ROOT, 'origin/docker-start.sh'), join(app, 'docker-start.sh'));
    expect(existsSync(join(app, 'origin/src/db/migrations/001_init.sql'))).toBe(true);
    expect(existsSync(join(app, 'origin/src/main.ts'))).toBe(false);

    const port = await freePort();
    child = spawn('bash', [join(app, 'docker-start.sh')], {
      cwd: '/',
      env: {
        PATH: process.env.PATH ?? '',
        ...database.env,
        NODE_ENV: 'production',
        TRUSTED_PROXIES: 'none',
        HOST: '127.0.0.1',
        PORT: String(port),
        ADMIN_TOKEN,
        EMBEDDER: 'hash',
        RERANKER: 'lexical',
        MODELS_DIR: join(dir, 'models'),
        WIDGET_FILE: join(app, 'dist/widget/widget.js'),
        ADMIN_DIR: join(app, 'dist/admin'),
        NODE_MAX_OLD_SPACE_MB: '384',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (data: Buffer) => {
      logs += data.toString();
    });
    child.stderr!.on('data', (data: Buffer) => {
      logs += data.toString();
    });
    let health: Response | undefined;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && child.exitCode === null) {
      health = await fetch(`http://127.0.0.1:${port}/api/v1/health`).catch(() => undefined);
      if (health?.status === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(health?.status, logs).toBe(200);
    expect(logs).toMatch(
      /docker-start: migrating\napplied migrations 1, 2, 3, 4[\d, ]*\ndocker-start: starting the origin with --max-old-space-size=384/,
    );
    // exec: the shell became node, so signals reach the server directly.
    const cmdline = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0');
    expect(cmdline.slice(0, 3)).toEqual(['node', '--max-old-space-size=384', 'origin/src/main.js']);

    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const { rows } = await client.query<{ n: number }>(
      'select count(*)::int as n from schema_migrations',
    );
    await client.end();
    expect(rows[0]!.n).toBeGreaterThanOrEqual(4);

    const widget = await fetch(`http://127.0.0.1:${port}/widget.js`);
    expect(widget.status).toBe(200);
    const page = await fetch(`http://127.0.0.1:${port}/admin/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");

    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
  });

  it('docker-start.sh refuses a nonsense heap size before touching the database', async () => {
    const result = await runCommand('bash', [join(ROOT, 'origin/docker-start.sh')], {
      env: { NODE_MAX_OLD_SPACE_MB: '12' },
    });
    expect(result.code).toBe(78);
    expect(result.stderr).toMatch(/bad heap size '12'/);
  });
});
