import {
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
`,
  wrangler: `#!/bin/bash
echo "wrangler $* (in $PWD)" >> "$SHIM_LOG"
[ -z "$SHIM_WRANGLER_FAIL" ]
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
      logs) echo "origin  | the last lines of the new origin" ;;
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
  let healthUrl: string;
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
    backups = join(work, 'backups');
    opsEnv = join(work, 'ops.env');
    state = join(work, 'state');

    // A healthy image starts answering 200 on its third check, as the origin does after its
    // migrations; an unhealthy one never does.
    health = createServer((req, res) => {
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
    healthUrl = `http://127.0.0.1:${(health.address() as AddressInfo).port}/api/v1/health`;
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
        DEPLOY_HEALTH_URL: healthUrl,
        DEPLOY_HEALTH_TRIES: '6',
        DEPLOY_HEALTH_INTERVAL: '0.1',
        SSH: 'ssh',
        WRANGLER: 'wrangler',
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
  const steps = {
    push: /^git -C .* push origin main$/,
    backup: /^ssh .* bash scripts\/backup\.sh --no-offsite$/,
    pull: /^git pull --ff-only origin main$/,
    tag: /^docker tag ragedge-origin:latest ragedge-origin:previous$/,
    build: /^docker compose -f docker-compose\.prod\.yml build origin$/,
    flagOn: /^ssh .*touch .*maintenance\.on'?$/,
    kvOn: /^wrangler kv key put maintenance 1 --binding FLAGS --remote/,
    up: /^docker compose -f docker-compose\.prod\.yml up -d --no-build origin$/,
    health: /^ssh .*curl /,
    flagOff: /^ssh .*rm -f .*maintenance\.on'?$/,
    kvOff: /^wrangler kv key delete maintenance --binding FLAGS --remote/,
  };

  it('origin: backup, build, maintenance on, up, health polled until 200, then maintenance off', async () => {
    const run = await deploy(['origin']);
    expect(run.stderr).toMatch(/origin: deployed/);
    expect(run.code).toBe(0);
    const order = Object.values(steps).map((pattern) => at(run.calls, pattern));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    // Polled, not slept on: 503, 503, then 200, and maintenance was on for every check.
    expect(run.health.map((check) => check.status)).toEqual([503, 503, 200]);
    expect(run.health.every((check) => check.flagged)).toBe(true);
    expect(run.calls.filter((call) => steps.health.test(call))).toHaveLength(3);
    expect(at(run.calls, steps.flagOff)).toBeGreaterThan(
      run.calls.findLastIndex((c) => steps.health.test(c)),
    );
    expect(existsSync(flag())).toBe(false);
    // The backup is real: a pg_dump custom-format file with its counts.
    const dumps = readdirSync(backups).filter((file) => file.endsWith('.dump'));
    expect(dumps).toHaveLength(1);
    expect(readFileSync(join(backups, dumps[0]!)).subarray(0, 5).toString()).toBe('PGDMP');
    expect(readFileSync(join(backups, dumps[0]!.replace('.dump', '.counts')), 'utf8')).toMatch(
      /^sites=1$/m,
    );
    expect(readFileSync(join(state, 'running'), 'utf8').trim()).toBe('healthy');
    expect(existsSync(join(serverDir, 'run', 'deploy.lock'))).toBe(false);
  });

  it('a failing health check rolls back to the previous image, restores service, exits non-zero', async () => {
    const run = await deploy(['origin'], { SHIM_NEW_IMAGE: 'broken' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/did not become healthy in 6 checks/);
    expect(run.stderr).toMatch(/the last lines of the new origin/);
    expect(run.stderr).toMatch(
      /ROLLED BACK: the previous origin is serving again; the new version was NOT deployed/,
    );
    const rollback = at(run.calls, /^docker tag ragedge-origin:previous ragedge-origin:latest$/);
    expect(rollback).toBeGreaterThan(at(run.calls, steps.up));
    expect(run.calls.filter((call) => steps.up.test(call))).toHaveLength(2);
    // Six failed checks of the new image, then the old one came back and passed.
    expect(run.health.slice(0, 6).every((check) => check.status === 503)).toBe(true);
    expect(run.health.at(-1)!.status).toBe(200);
    expect(readFileSync(join(state, 'running'), 'utf8').trim()).toBe('healthy');
    expect(at(run.calls, steps.flagOff)).toBeGreaterThan(rollback);
    expect(at(run.calls, steps.kvOff)).toBeGreaterThan(rollback);
    expect(existsSync(flag())).toBe(false);
  });

  it('when the rollback is not healthy either, maintenance stays on and it exits 2', async () => {
    writeFileSync(join(state, 'images', 'ragedge-origin:latest'), 'broken\n');
    const run = await deploy(['origin'], { SHIM_NEW_IMAGE: 'broken' });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/ROLLBACK FAILED: .* Maintenance stays ON/);
    expect(existsSync(flag())).toBe(true);
    expect(run.calls.some((call) => steps.kvOff.test(call))).toBe(false);
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
    for (const step of ['pull', 'tag', 'build', 'flagOn', 'kvOn', 'up'] as const) {
      expect(
        run.calls.some((call) => steps[step].test(call)),
        step,
      ).toBe(false);
    }
    expect(existsSync(flag())).toBe(false);
    expect(existsSync(backups) ? readdirSync(backups) : []).toEqual([]);
  });

  it('one deploy at a time: a held lock stops the next before its backup, and every run releases it', async () => {
    mkdirSync(join(serverDir, 'run', 'deploy.lock'), { recursive: true });
    const blocked = await deploy(['origin']);
    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toMatch(/FAILED: another deploy holds .*deploy\.lock/);
    expect(blocked.calls.some((call) => steps.backup.test(call))).toBe(false);
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

  it('a failed build leaves the old origin serving and maintenance off', async () => {
    const run = await deploy(['origin'], { SHIM_BUILD_FAIL: '1' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/the image did not build/);
    expect(run.calls.some((call) => steps.flagOn.test(call))).toBe(false);
    expect(run.calls.some((call) => steps.up.test(call))).toBe(false);
  });

  it('edge runs wrangler deploy from the repository; full deploys the origin, then the edge', async () => {
    const edge = await deploy(['edge']);
    expect(edge.code).toBe(0);
    expect(edge.calls).toEqual([`wrangler deploy (in ${ROOT})`]);

    const full = await deploy(['full']);
    expect(full.code).toBe(0);
    expect(at(full.calls, /^wrangler deploy /)).toBeGreaterThan(at(full.calls, steps.kvOff));
  });

  it('refuses an unknown mode and answers --help', async () => {
    expect((await deploy(['everything'])).code).toBe(2);
    const help = await runCommand('bash', ['deploy/deploy.sh', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: deploy\/deploy\.sh/);
  });
});
