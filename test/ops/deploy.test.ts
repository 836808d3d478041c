import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, startHarness, type TestDatabase } from '../../origin/test/harness.js';
import { ROOT, runCommand, tempDir } from './helpers.js';

/*
 * The server is a local stand-in: ssh runs the command here, in a checkout directory; docker
 * keeps image tags as files and "runs" one; git and wrangler only record. The backup is real
 * (pg_dump against a real database) and the health check is real curl against a small server
 * that answers like the origin would for whichever image is "running".
 */
const SHIMS: Record<string, string> = {
  ssh: `#!/bin/bash
echo "ssh $*" >> "$SHIM_LOG"
while [ "\${1#-}" != "$1" ]; do shift 2; done
shift
exec bash -c "$1"
`,
  git: `#!/bin/bash
echo "git $*" >> "$SHIM_LOG"
case "$1" in
  rev-parse) echo "\${SHIM_REV:-}" ;;
  diff) [ -z "\${SHIM_DIFF:-}" ] || echo "$SHIM_DIFF" ;;
esac
`,
  wrangler: `#!/bin/bash
echo "wrangler $* (in $PWD)" >> "$SHIM_LOG"
[ -z "$SHIM_WRANGLER_FAIL" ]
`,
  alert: `#!/bin/bash
echo "alert $*" >> "$SHIM_LOG"
`,
  docker: `#!/bin/bash
echo "docker $*" >> "$SHIM_LOG"
S="$SHIM_STATE"
case "$1" in
  image) [ "$2" = inspect ] && [ -f "$S/images/$3" ]; exit $? ;;
  tag) [ -f "$S/images/$2" ] || exit 1; cp "$S/images/$2" "$S/images/$3" ;;
  compose)
    shift
    while [ "$1" = -f ]; do shift 2; done
    case "$1" in
      build) [ -z "$SHIM_BUILD_FAIL" ] || exit 1; echo "$SHIM_NEW_IMAGE" > "$S/images/ragedge-origin:latest" ;;
      up) cp "$S/images/ragedge-origin:latest" "$S/running" ;;
      stop) ;;
      logs) echo "origin  | the last lines of the new origin" ;;
      exec) [ -z "$SHIM_RELOAD_FAIL" ] ;;
    esac ;;
esac
`,
};

interface Scenario {
  code: number | null;
  stderr: string;
  calls: string[];
  health: Array<{ status: number; flagged: boolean }>;
}

describe('deploy/deploy.sh against a stand-in server', () => {
  let database: TestDatabase;
  let work: string;
  let bin: string;
  let state: string;
  let serverDir: string;
  let backups: string;
  let opsEnv: string;
  let health: Server;
  let healthPort: number;
  let seen: Scenario['health'] = [];
  let lastStart = 0;
  let sinceStart = 0;

  const flag = () => join(serverDir, 'run', 'maintenance.on');

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    const h = await startHarness({ database });
    expect((await h.request('POST', '/api/v1/sites', { json: { name: 'docs' } })).status).toBe(201);
    await h.close();

    work = tempDir('deploy');
    bin = join(work, 'bin');
    mkdirSync(bin);
    for (const [name, body] of Object.entries(SHIMS))
      writeFileSync(join(bin, name), body, { mode: 0o755 });
    serverDir = join(work, 'server');
    mkdirSync(serverDir);
    symlinkSync(join(ROOT, 'scripts'), join(serverDir, 'scripts'));
    // A copy: the deploy writes nginx/rendered/upstream.conf in the server's checkout.
    cpSync(join(ROOT, 'nginx'), join(serverDir, 'nginx'), {
      recursive: true,
      filter: (src) => !src.includes('rendered'),
    });
    backups = join(work, 'backups');
    opsEnv = join(work, 'ops.env');
    state = join(work, 'state');

    // A healthy image starts answering 200 on its third check, as the origin does after its
    // migrations; an unhealthy one never does.
    health = createServer((req, res) => {
      // The drain reads /metrics: open streams, none here.
      if (req.url === '/metrics') {
        res.writeHead(200).end('ragedge_sse_streams_active 0\n');
        return;
      }
      const running = join(state, 'running');
      const image = existsSync(running) ? readFileSync(running, 'utf8').trim() : '';
      const started = existsSync(running) ? statSync(running).mtimeMs : 0;
      if (started !== lastStart) {
        lastStart = started;
        sinceStart = 0;
      }
      sinceStart += 1;
      const status =
        req.url === '/api/v1/health' && image === 'healthy' && sinceStart >= 3 ? 200 : 503;
      seen.push({ status, flagged: existsSync(flag()) });
      res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((resolve) => health.listen(0, '127.0.0.1', resolve));
    healthPort = (health.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise((resolve) => health?.close(resolve));
    await database?.drop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  beforeEach(() => {
    rmSync(state, { recursive: true, force: true });
    mkdirSync(join(state, 'images'), { recursive: true });
    writeFileSync(join(state, 'images', 'ragedge-origin:latest'), 'healthy\n');
    writeFileSync(join(state, 'running'), 'healthy\n');
    rmSync(join(serverDir, 'run'), { recursive: true, force: true });
    mkdirSync(join(serverDir, 'run'));
    // A color serves already; the first-deploy test removes this.
    writeFileSync(join(serverDir, 'run', 'active-color'), 'blue\n');
    rmSync(join(serverDir, 'nginx', 'rendered'), { recursive: true, force: true });
    rmSync(backups, { recursive: true, force: true });
    writeFileSync(opsEnv, `DATABASE_URL=${database.url}\nBACKUP_DIR=${backups}\n`);
    seen = [];
  });

  async function deploy(args: string[], env: Record<string, string> = {}): Promise<Scenario> {
    const log = join(work, 'calls.log');
    writeFileSync(log, '');
    const result = await runCommand('bash', [join(ROOT, 'deploy/deploy.sh'), ...args], {
      cwd: work,
      timeoutMs: 90_000,
      env: {
        PATH: `${bin}:${process.env.PATH}`,
        SHIM_LOG: log,
        SHIM_STATE: state,
        SHIM_NEW_IMAGE: 'healthy',
        RAGEDGE_OPS_ENV: opsEnv,
        DEPLOY_ENV_FILE: join(work, 'no-such-deploy.env'),
        DEPLOY_HOST: 'deploy@vps.test',
        DEPLOY_DIR: serverDir,
        // Both colors' health checks reach the stand-in, which answers for the one last started.
        DEPLOY_BLUE_PORT: String(healthPort),
        DEPLOY_GREEN_PORT: String(healthPort),
        DEPLOY_HEALTH_TRIES: '6',
        DEPLOY_HEALTH_INTERVAL: '0.1',
        DEPLOY_DRAIN_SECONDS: '1',
        DEPLOY_SWITCH_SETTLE_SECONDS: '0',
        SSH: 'ssh',
        WRANGLER: 'wrangler',
        ALERT_COMMAND: join(bin, 'alert'),
        ALERT_WEBHOOK_URL: '',
        ...env,
      },
    });
    const calls = readFileSync(log, 'utf8').trim().split('\n').filter(Boolean);
    return { code: result.code, stderr: result.stderr, calls, health: [...seen] };
  }

  /** Index of the first call matching, failing the test when there is none. */
  const at = (calls: string[], pattern: RegExp) => {
    const index = calls.findIndex((call) => pattern.test(call));
    expect(index, `no call matches ${pattern}:\n${calls.join('\n')}`).toBeGreaterThanOrEqual(0);
    return index;
  };
  const none = (calls: string[], pattern: RegExp) =>
    expect(calls.filter((call) => pattern.test(call))).toEqual([]);
  const steps = {
    push: /^git -C .* push origin main$/,
    backup: /^ssh .* bash scripts\/backup\.sh --no-offsite$/,
    pull: /^git pull --ff-only origin main$/,
    tag: /^docker tag ragedge-origin:latest ragedge-origin:previous$/,
    build: /^docker compose -f docker-compose\.prod\.yml build origin-blue$/,
    flagOn: /^ssh .*touch .*maintenance\.on'?$/,
    kvOn: /^wrangler kv key put maintenance 1 --binding FLAGS --remote/,
    upBlue: /^docker compose -f docker-compose\.prod\.yml up -d --no-build origin-blue$/,
    upGreen: /^docker compose -f docker-compose\.prod\.yml up -d --no-build origin-green$/,
    health: /^ssh .*curl .*\/api\/v1\/health/,
    reload: /^docker compose -f docker-compose\.prod\.yml exec -T nginx nginx -s reload$/,
    flagOff: /^ssh .*rm -f .*maintenance\.on'?$/,
    kvOff: /^wrangler kv key delete maintenance --binding FLAGS --remote/,
    stopBlue: /^docker compose -f docker-compose\.prod\.yml stop origin-blue$/,
    stopGreen: /^docker compose -f docker-compose\.prod\.yml stop origin-green$/,
    alert: /^alert ragedge deploy \(origin to deploy@vps\.test\) FAILED, exit/,
  };
  const upstream = () => readFileSync(join(serverDir, 'nginx/rendered/upstream.conf'), 'utf8');
  const active = () => readFileSync(join(serverDir, 'run/active-color'), 'utf8').trim();

  it('first deploy: maintenance on, blue up, health polled until 200, nginx pointed at it, maintenance off', async () => {
    rmSync(join(serverDir, 'run', 'active-color'));
    const run = await deploy(['origin']);
    expect(run.stderr).toMatch(/origin: deployed \(blue serving\)/);
    expect(run.code).toBe(0);
    const order = [
      steps.push,
      steps.backup,
      steps.pull,
      steps.tag,
      steps.build,
      steps.flagOn,
      steps.kvOn,
      steps.upBlue,
      steps.health,
      steps.reload,
      steps.flagOff,
      steps.kvOff,
    ].map((pattern) => at(run.calls, pattern));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    // Polled, not slept on: 503, 503, then 200, and maintenance was on for every check.
    expect(run.health.map((check) => check.status)).toEqual([503, 503, 200]);
    expect(run.health.every((check) => check.flagged)).toBe(true);
    expect(existsSync(flag())).toBe(false);
    expect(upstream()).toContain(`server 127.0.0.1:${healthPort};`);
    expect(active()).toBe('blue');
    // The backup is real: a pg_dump custom-format file with its counts.
    const dumps = readdirSync(backups).filter((file) => file.endsWith('.dump'));
    expect(dumps).toHaveLength(1);
    expect(readFileSync(join(backups, dumps[0]!)).subarray(0, 5).toString()).toBe('PGDMP');
    expect(readFileSync(join(backups, dumps[0]!.replace('.dump', '.counts')), 'utf8')).toMatch(
      /^sites=1$/m,
    );
    expect(existsSync(join(serverDir, 'run', 'deploy.lock'))).toBe(false);
    none(run.calls, /^alert /);
  });

  it('blue-green: green starts beside blue, nginx switches after its health, blue is drained and stopped; no maintenance', async () => {
    const run = await deploy(['origin']);
    expect(run.code, run.stderr).toBe(0);
    const order = [steps.build, steps.upGreen, steps.health, steps.reload, steps.stopBlue].map(
      (pattern) => at(run.calls, pattern),
    );
    expect(order).toEqual([...order].sort((a, b) => a - b));
    for (const step of [steps.flagOn, steps.kvOn, steps.flagOff, steps.kvOff, steps.upBlue])
      none(run.calls, step);
    expect(run.health.every((check) => !check.flagged)).toBe(true);
    expect(active()).toBe('green');
    expect(run.stderr).toMatch(/draining blue: .* stopping it/);
    // The next deploy goes the other way.
    const back = await deploy(['origin']);
    expect(back.code, back.stderr).toBe(0);
    at(back.calls, steps.upBlue);
    at(back.calls, steps.stopGreen);
    expect(active()).toBe('blue');
  });

  it('blue-green: a new color that never gets healthy is stopped, the serving one never stopped; exit 1 and an alert', async () => {
    const run = await deploy(['origin'], { SHIM_NEW_IMAGE: 'broken' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/did not become healthy in 6 checks/);
    expect(run.stderr).toMatch(/the last lines of the new origin/);
    expect(run.stderr).toMatch(/ROLLED BACK: the new version was NOT deployed; blue never stopped/);
    at(run.calls, steps.stopGreen);
    for (const step of [steps.reload, steps.stopBlue, steps.flagOn]) none(run.calls, step);
    expect(active()).toBe('blue');
    at(run.calls, steps.alert);
  });

  it('blue-green: when nginx refuses the reload, the upstream goes back to the serving color and the new one stops', async () => {
    mkdirSync(join(serverDir, 'nginx', 'rendered'), { recursive: true });
    writeFileSync(
      join(serverDir, 'nginx', 'rendered', 'upstream.conf'),
      'upstream ragedge_origin { server 127.0.0.1:1; }\n',
    );
    const run = await deploy(['origin'], { SHIM_RELOAD_FAIL: '1' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/FAILED: nginx did not take the new upstream; blue keeps serving/);
    at(run.calls, steps.stopGreen);
    none(run.calls, steps.stopBlue);
    expect(active()).toBe('blue');
    expect(upstream()).toContain(`server 127.0.0.1:${healthPort};`);
    at(run.calls, steps.alert);
  });

  it('--maintenance (as a migration marked `-- deploy: maintenance` does) stops the old color under maintenance first', async () => {
    const run = await deploy(['--maintenance', 'origin']);
    expect(run.code, run.stderr).toBe(0);
    const order = [steps.flagOn, steps.stopBlue, steps.upGreen, steps.health, steps.flagOff].map(
      (pattern) => at(run.calls, pattern),
    );
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(active()).toBe('green');
  });

  it('a new migration marked `-- deploy: maintenance` makes the deploy use maintenance; an unmarked one does not', async () => {
    const migrations = join(serverDir, 'origin/src/db/migrations');
    mkdirSync(migrations, { recursive: true });
    writeFileSync(join(migrations, '900_plain.sql'), 'create table t (id int);\n');
    writeFileSync(
      join(migrations, '901_rename.sql'),
      '-- deploy: maintenance\nalter table t rename to u;\n',
    );
    try {
      const plain = await deploy(['origin'], {
        SHIM_REV: 'abc123',
        SHIM_DIFF: 'origin/src/db/migrations/900_plain.sql',
      });
      expect(plain.code, plain.stderr).toBe(0);
      none(plain.calls, steps.flagOn);
      const marked = await deploy(['origin'], {
        SHIM_REV: 'abc123',
        SHIM_DIFF: 'origin/src/db/migrations/901_rename.sql',
      });
      expect(marked.code, marked.stderr).toBe(0);
      expect(marked.stderr).toMatch(
        /with maintenance \(a migration or --maintenance asks for it\)/,
      );
      const order = [steps.flagOn, steps.stopGreen, steps.upBlue, steps.flagOff].map((pattern) =>
        at(marked.calls, pattern),
      );
      expect(order).toEqual([...order].sort((a, b) => a - b));
    } finally {
      rmSync(join(serverDir, 'origin'), { recursive: true, force: true });
    }
  });

  it('under maintenance, a failing health check rolls back to :previous and exits 1', async () => {
    const run = await deploy(['--maintenance', 'origin'], { SHIM_NEW_IMAGE: 'broken' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /ROLLED BACK: the previous origin is serving again; the new version was NOT deployed/,
    );
    const rollback = at(run.calls, /^docker tag ragedge-origin:previous ragedge-origin:latest$/);
    expect(rollback).toBeGreaterThan(at(run.calls, steps.upGreen));
    expect(at(run.calls, steps.upBlue)).toBeGreaterThan(rollback);
    expect(run.health.slice(0, 6).every((check) => check.status === 503)).toBe(true);
    expect(run.health.at(-1)!.status).toBe(200);
    expect(at(run.calls, steps.flagOff)).toBeGreaterThan(rollback);
    expect(existsSync(flag())).toBe(false);
    expect(active()).toBe('blue');
  });

  it('when the rollback is not healthy either, maintenance stays on and it exits 2', async () => {
    writeFileSync(join(state, 'images', 'ragedge-origin:latest'), 'broken\n');
    const run = await deploy(['--maintenance', 'origin'], { SHIM_NEW_IMAGE: 'broken' });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/ROLLBACK FAILED: .* Maintenance stays ON/);
    expect(existsSync(flag())).toBe(true);
    none(run.calls, steps.kvOff);
    at(run.calls, steps.alert);
  });

  it('a failing pg_dump stops the deploy before anything on the server changes', async () => {
    writeFileSync(
      opsEnv,
      `DATABASE_URL=postgres://postgres@127.0.0.1:1/nowhere\nBACKUP_DIR=${backups}\n`,
    );
    const run = await deploy(['origin']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /FAILED: the backup did not complete\. Nothing on the server was changed/,
    );
    at(run.calls, steps.backup);
    for (const step of ['pull', 'tag', 'build', 'flagOn', 'kvOn', 'upBlue', 'upGreen'] as const)
      none(run.calls, steps[step]);
    expect(existsSync(flag())).toBe(false);
    expect(existsSync(backups) ? readdirSync(backups) : []).toEqual([]);
    at(run.calls, steps.alert);
  });

  it('one deploy at a time: a held lock stops the next before its backup, and every run releases it', async () => {
    mkdirSync(join(serverDir, 'run', 'deploy.lock'), { recursive: true });
    const blocked = await deploy(['origin']);
    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toMatch(/FAILED: cannot take .*deploy\.lock on the server/);
    none(blocked.calls, steps.backup);
    expect(existsSync(join(serverDir, 'run', 'deploy.lock'))).toBe(true);
    rmSync(join(serverDir, 'run', 'deploy.lock'), { recursive: true });

    // A failing deploy (here: its backup) releases the lock it took.
    writeFileSync(
      opsEnv,
      `DATABASE_URL=postgres://postgres@127.0.0.1:1/nowhere\nBACKUP_DIR=${backups}\n`,
    );
    expect((await deploy(['origin'])).code).toBe(1);
    expect(existsSync(join(serverDir, 'run', 'deploy.lock'))).toBe(false);
  });

  it('a failed build leaves the serving origin alone and maintenance off', async () => {
    const run = await deploy(['origin'], { SHIM_BUILD_FAIL: '1' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/the image did not build/);
    for (const step of [steps.flagOn, steps.upBlue, steps.upGreen]) none(run.calls, step);
  });

  it('edge builds the chat site and runs wrangler from the repository, from any directory; full = origin, then edge', async () => {
    const edge = await deploy(['edge']);
    expect(edge.code, edge.stderr).toBe(0);
    expect(edge.calls).toEqual([`wrangler deploy (in ${ROOT})`]);
    expect(existsSync(join(ROOT, 'dist/site/index.html'))).toBe(true);

    // The KV flag too is set from the repository (wrangler.toml names the FLAGS binding).
    const full = await deploy(['--maintenance', 'full']);
    expect(full.code).toBe(0);
    expect(full.calls).toContain(
      `wrangler kv key put maintenance 1 --binding FLAGS --remote (in ${ROOT})`,
    );
    expect(at(full.calls, /^wrangler deploy /)).toBeGreaterThan(at(full.calls, steps.kvOff));
  });

  it('refuses an unknown mode and answers --help', async () => {
    expect((await deploy(['everything'])).code).toBe(2);
    const help = await runCommand('bash', ['deploy/deploy.sh', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: deploy\/deploy\.sh/);
  });
});
