import { mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ROOT, runCommand, tempDir } from './helpers.js';

const SKIP_DIRS = new Set([
  'node_modules',
  '.git',
  '.services',
  '.wrangler',
  'dist',
  'test-output',
]);

function shellScripts(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.isDirectory())
      return SKIP_DIRS.has(entry.name) ? [] : shellScripts(join(dir, entry.name));
    return entry.name.endsWith('.sh') ? [join(dir, entry.name)] : [];
  });
}

/** The operations scripts this issue owns; each is run with --help. */
const OPS_SCRIPTS = [
  'deploy/deploy.sh',
  'nginx/render.sh',
  'scripts/backup.sh',
  'scripts/verify-backup.sh',
  'scripts/weekly-maintenance.sh',
  'scripts/setup-swap.sh',
  'scripts/alert.sh',
  'scripts/cron-run.sh',
  'deploy/bootstrap-vps.sh',
  'scripts/harden-host.sh',
];

describe('shell scripts', () => {
  it('every *.sh in the repository passes shellcheck', async () => {
    const scripts = shellScripts(ROOT).map((path) => relative(ROOT, path));
    expect(scripts).toEqual(expect.arrayContaining(OPS_SCRIPTS));
    const result = await runCommand('shellcheck', ['-x', '--severity=info', ...scripts]);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('every operations script answers --help with its usage and exit 0, and is strict', async () => {
    for (const script of OPS_SCRIPTS) {
      const result = await runCommand('bash', [script, '--help']);
      expect(result.code, script).toBe(0);
      expect(result.stdout, script).toMatch(/^Usage: /);
      expect(readFileSync(join(ROOT, script), 'utf8'), script).toMatch(/^set -euo pipefail$/m);
      const wrong = await runCommand('bash', [script, '--no-such-option']);
      expect(wrong.code, `${script} --no-such-option`).not.toBe(0);
    }
  });

  it('setup-swap and harden-host show their plan with --dry-run', async () => {
    const swap = await runCommand('bash', [
      'scripts/setup-swap.sh',
      '--dry-run',
      '--file',
      '/nonexistent-ragedge-swap',
      '--size',
      '1G',
    ]);
    expect(swap.code).toBe(0);
    expect(swap.stdout).toContain('fallocate -l 1G /nonexistent-ragedge-swap');
    expect(swap.stdout).toContain('write /etc/sysctl.d/99-ragedge-swap.conf: vm.swappiness=10');
    const harden = await runCommand('bash', [
      'scripts/harden-host.sh',
      '--dry-run',
      '--user',
      'root',
    ]);
    expect(harden.code).toBe(0);
    const allowed = [...harden.stdout.matchAll(/^ufw allow (\S+)$/gm)].map((m) => m[1]);
    expect(allowed).toEqual(['22/tcp', '80/tcp', '443/tcp']);
    expect(harden.stdout).toContain('ufw default deny incoming');
    expect(harden.stdout).toMatch(/^PasswordAuthentication no$/m);
  });
});

describe('scripts/weekly-maintenance.sh', () => {
  let dir: string;
  let backups: string;
  let logFile: string;
  let calls: string;
  let docker: string;
  let alertCommand: string;

  beforeAll(() => {
    dir = tempDir('weekly');
    backups = join(dir, 'backups');
    calls = join(dir, 'docker-calls.log');
    docker = join(dir, 'docker');
    // docker ps answers what SHIM_PS holds; every call is recorded.
    writeFileSync(
      docker,
      `#!/bin/bash\necho "$*" >> ${calls}\nif [ "$1" = ps ]; then printf "$SHIM_PS"; fi\n`,
      { mode: 0o755 },
    );
    alertCommand = join(dir, 'alert');
    writeFileSync(alertCommand, `#!/bin/bash\necho "$1" >> ${join(dir, 'alerts-sent.log')}\n`, {
      mode: 0o755,
    });
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    rmSync(backups, { recursive: true, force: true });
    mkdirSync(backups);
    const fresh = join(backups, 'ragedge-20261130T010000.000Z.dump');
    writeFileSync(fresh, 'PGDMP');
    logFile = join(dir, `maintenance-${Date.now()}.log`);
    writeFileSync(calls, '');
    rmSync(join(dir, 'alerts-sent.log'), { force: true });
  });

  const weekly = (env: Record<string, string>) =>
    runCommand('bash', ['scripts/weekly-maintenance.sh', '--log', logFile], {
      env: {
        RAGEDGE_OPS_ENV: join(dir, 'none.env'),
        DOCKER: docker,
        BACKUP_DIR: backups,
        ALERT_COMMAND: alertCommand,
        SHIM_PS: 'ragedge-origin-1\\tUp 3 days (healthy)\\nragedge-db-1\\tUp 3 days (healthy)\\n',
        ...env,
      },
    });
  const alertsIn = (text: string) => text.split('\n').filter((line) => line.startsWith('ALERT: '));

  it('no alert at or below the thresholds; prunes, lists containers and backups into the log', async () => {
    const result = await weekly({ DISK_USED_PCT: '80', MEM_USED_PCT: '90' });
    const log = readFileSync(logFile, 'utf8');
    expect(alertsIn(log)).toEqual([]);
    expect(result.code).toBe(0);
    expect(log).toContain('disk: 80% used on / (alert above 80%)');
    expect(log).toContain('memory: 90% in use (alert above 90%)');
    expect(log).toContain('ragedge-origin-1\tUp 3 days (healthy)');
    expect(log).toMatch(/backups: 1 in .*, newest ragedge-20261130T010000\.000Z\.dump/);
    expect(readFileSync(calls, 'utf8')).toMatch(
      /^image prune -f --filter until=168h\ncontainer prune -f --filter until=168h\nbuilder prune -f --filter until=168h\nps -a/,
    );
  });

  it('alerts on disk above 80 % and memory above 90 %, to the log, stderr and ALERT_COMMAND', async () => {
    const disk = await weekly({ DISK_USED_PCT: '81', MEM_USED_PCT: '12' });
    expect(disk.code).toBe(1);
    expect(alertsIn(readFileSync(logFile, 'utf8'))).toEqual([
      'ALERT: disk at 81% on / (threshold 80%)',
    ]);
    expect(disk.stderr).toContain('ALERT: disk at 81%');

    const both = await weekly({ DISK_USED_PCT: '97', MEM_USED_PCT: '91' });
    expect(both.code).toBe(1);
    const log = readFileSync(logFile, 'utf8');
    expect(alertsIn(log.slice(log.lastIndexOf('=== ragedge maintenance')))).toEqual([
      'ALERT: disk at 97% on / (threshold 80%)',
      'ALERT: memory at 91% (threshold 90%)',
    ]);
    expect(readFileSync(join(dir, 'alerts-sent.log'), 'utf8')).toMatch(
      /: memory at 91% \(threshold 90%\)$/m,
    );
  });

  it('thresholds are configurable', async () => {
    const result = await weekly({
      DISK_USED_PCT: '75',
      MEM_USED_PCT: '75',
      DISK_ALERT_PCT: '70',
      MEM_ALERT_PCT: '80',
    });
    expect(result.code).toBe(1);
    expect(alertsIn(readFileSync(logFile, 'utf8'))).toEqual([
      'ALERT: disk at 75% on / (threshold 70%)',
    ]);
  });

  it('alerts on a stopped or unhealthy container, a stale backup, and no backup at all', async () => {
    utimesSync(
      join(backups, 'ragedge-20261130T010000.000Z.dump'),
      new Date(Date.now() - 50 * 3600_000),
      new Date(Date.now() - 50 * 3600_000),
    );
    const result = await weekly({
      DISK_USED_PCT: '10',
      MEM_USED_PCT: '10',
      SHIM_PS:
        'ragedge-origin-1\\tUp 2 minutes (unhealthy)\\nragedge-nginx-1\\tExited (1) 3 hours ago\\n',
    });
    expect(result.code).toBe(1);
    expect(alertsIn(readFileSync(logFile, 'utf8'))).toEqual([
      'ALERT: container ragedge-origin-1 is unhealthy (Up 2 minutes (unhealthy))',
      'ALERT: container ragedge-nginx-1 is not running (Exited (1) 3 hours ago)',
      'ALERT: newest backup is 50 h old (threshold 26 h)',
    ]);
    rmSync(backups, { recursive: true, force: true });
    const none = await weekly({ DISK_USED_PCT: '10', MEM_USED_PCT: '10' });
    expect(none.code).toBe(1);
    expect(alertsIn(readFileSync(logFile, 'utf8')).at(-1)).toBe(`ALERT: no backups in ${backups}`);
  });

  it('measures the real disk and memory when no reading is injected', async () => {
    const df = await runCommand('df', ['-P', '/']);
    const diskPct = Number(df.stdout.split('\n')[1]!.trim().split(/\s+/)[4]!.replace('%', ''));
    const meminfo = readFileSync('/proc/meminfo', 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(meminfo)![1]);
    const memPct = ((kb('MemTotal') - kb('MemAvailable')) * 100) / kb('MemTotal');
    await weekly({ DISK_ALERT_PCT: '100', MEM_ALERT_PCT: '100' });
    const log = readFileSync(logFile, 'utf8');
    const disk = Number(/disk: (\d+)% used on \//.exec(log)![1]);
    const mem = Number(/memory: (\d+)% in use/.exec(log)![1]);
    expect(Math.abs(disk - diskPct)).toBeLessThanOrEqual(1);
    // Memory moves while the test runs; a few points of slack.
    expect(Math.abs(mem - memPct)).toBeLessThanOrEqual(5);
    expect(mem).toBeGreaterThan(0);
  });
});

describe('alerts: scripts/alert.sh and cron-run.sh through a webhook', () => {
  it('posts the message as Slack, Discord or plain text, escaped, and fails loudly when nothing is set', async () => {
    const bodies: Array<{ type: string; body: string }> = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (part: Buffer) => {
        body += part.toString();
      });
      req.on('end', () => {
        bodies.push({ type: req.headers['content-type'] ?? '', body });
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const message = 'backup "daily" FAILED\\ exit 1\nline two';
    const none = { RAGEDGE_OPS_ENV: '/nonexistent', ALERT_COMMAND: '' };
    try {
      for (const format of ['slack', 'discord', 'text']) {
        const sent = await runCommand('bash', ['scripts/alert.sh', message], {
          env: { ...none, ALERT_WEBHOOK_URL: url, ALERT_WEBHOOK_FORMAT: format },
        });
        expect(sent.code, sent.stderr).toBe(0);
      }
      expect(JSON.parse(bodies[0]!.body)).toEqual({ text: message });
      expect(JSON.parse(bodies[1]!.body)).toEqual({ content: message });
      expect(bodies[2]).toEqual({ type: 'text/plain; charset=utf-8', body: message });

      const unset = await runCommand('bash', ['scripts/alert.sh', 'hello'], {
        env: { ...none, ALERT_WEBHOOK_URL: '' },
      });
      expect(unset.code).toBe(1);
      expect(unset.stderr).toMatch(/ALERT NOT DELIVERED .*: hello/);

      const logs = tempDir('cron-run');
      try {
        const job = await runCommand(
          'bash',
          ['scripts/cron-run.sh', 'nightly', 'bash', '-c', 'echo working; exit 4'],
          { env: { ...none, ALERT_WEBHOOK_URL: url, RAGEDGE_LOG_DIR: logs } },
        );
        expect(job.code).toBe(4);
        expect(readFileSync(join(logs, 'nightly.log'), 'utf8')).toMatch(
          /=== nightly start .*\nworking\n=== nightly end .*: exit 4/,
        );
        expect(JSON.parse(bodies.at(-1)!.body).text).toMatch(
          /nightly FAILED \(exit 4\)[\s\S]*working/,
        );
      } finally {
        rmSync(logs, { recursive: true, force: true });
      }
    } finally {
      server.close();
    }
  });
});
