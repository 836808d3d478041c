import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  type Harness,
  startHarness,
  type TestDatabase,
} from '../../origin/test/harness.js';
import { runCommand, tempDir } from './helpers.js';

// Hermetic: a real /etc/ragedge/ops.env on the machine must not change what the scripts do.
process.env.RAGEDGE_OPS_ENV = '/nonexistent/ragedge-ops.env';

const DOCS = Array.from({ length: 12 }, (_, i) => ({
  title: `Guide ${i}`,
  content: `# Guide ${i}\n\n${'Backups are dumped nightly and restored weekly to prove they work. '.repeat(20 + i)}`,
}));

async function scratchDatabases(adminUrl: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>(
      "select datname from pg_database where datname like 'ragedge_verify_%'",
    );
    return rows.map((row) => row.datname);
  } finally {
    await client.end();
  }
}

describe('backup.sh and verify-backup.sh on the real PostgreSQL + pgvector', () => {
  let database: TestDatabase;
  let h: Harness;
  let dir: string;
  let url: string;
  const adminUrl = process.env.TEST_DATABASE_URL ?? '';

  const backup = (...args: string[]) =>
    runCommand('bash', ['scripts/backup.sh', '--dir', dir, '--database-url', url, ...args], {
      env: { BACKUP_S3_URL: '', BACKUP_RCLONE_REMOTE: '' },
    });
  const verify = (...args: string[]) =>
    runCommand('bash', ['scripts/verify-backup.sh', '--dir', dir, '--database-url', url, ...args]);

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    url = database.url!;
    h = await startHarness({ database });
    for (const name of ['docs', 'help']) {
      expect((await h.request('POST', '/api/v1/sites', { json: { name } })).status).toBe(201);
      const response = await h.request('POST', `/api/v1/sites/${name}/documents`, {
        json: { documents: DOCS },
      });
      expect(response.status).toBe(201);
    }
    dir = tempDir('backup');
  });

  afterAll(async () => {
    await h?.close();
    await database?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('dumps, records the counts of the same snapshot, and verify-backup restores the same rows', async () => {
    const counts = await h.counts();
    expect(counts.chunks).toBeGreaterThan(DOCS.length);
    const dumped = await backup();
    expect(dumped.stderr).not.toMatch(/failed/i);
    expect(dumped.code).toBe(0);
    const path = dumped.stdout.trim().split('\n').at(-1)!;
    expect(path).toMatch(/ragedge-\d{8}T\d{6}\.\d{3}Z\.dump$/);
    // pg_dump -Fc: its own magic, compressed.
    expect(readFileSync(path).subarray(0, 5).toString()).toBe('PGDMP');
    expect(readFileSync(path.replace(/\.dump$/, '.counts'), 'utf8')).toBe(
      `sites=2\ndocuments=${counts.documents}\nchunks=${counts.chunks}\n`,
    );

    const verified = await verify();
    expect(verified.stderr).toContain(`chunks: ${counts.chunks} rows, as at backup time`);
    expect(verified.stderr).toContain(`documents: ${counts.documents} rows, as at backup time`);
    expect(verified.stderr).toMatch(/vector query: chunk \d+ is its own nearest neighbour/);
    expect(verified.stderr).toMatch(/OK: ragedge-.*\.dump restores and matches/);
    expect(verified.code).toBe(0);
    expect(await scratchDatabases(adminUrl)).toEqual([]);
  });

  it('fails on a corrupted dump, and drops its scratch database', async () => {
    const dumped = await backup();
    expect(dumped.code).toBe(0);
    const path = dumped.stdout.trim().split('\n').at(-1)!;
    const bytes = readFileSync(path);
    // Keep the header (so it still looks like a dump) and garble the compressed data.
    for (let i = Math.floor(bytes.length / 3); i < bytes.length; i += 7)
      bytes[i] = bytes[i]! ^ 0x5a;
    writeFileSync(path, bytes);
    const verified = await verify();
    expect(verified.code).toBe(1);
    expect(verified.stderr).toMatch(/FAILED: /);
    expect(await scratchDatabases(adminUrl)).toEqual([]);
  });

  it('fails on a truncated dump', async () => {
    const dumped = await backup();
    const path = dumped.stdout.trim().split('\n').at(-1)!;
    const bytes = readFileSync(path);
    writeFileSync(path, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const verified = await verify();
    expect(verified.code).toBe(1);
    expect(verified.stderr).toMatch(/FAILED: /);
  });

  it('fails when the restored rows differ from the counts taken at backup time', async () => {
    const dumped = await backup();
    const path = dumped.stdout.trim().split('\n').at(-1)!;
    const countsFile = path.replace(/\.dump$/, '.counts');
    writeFileSync(
      countsFile,
      readFileSync(countsFile, 'utf8').replace(
        /^chunks=(\d+)$/m,
        (_, n) => `chunks=${Number(n) + 1}`,
      ),
    );
    const verified = await verify('--file', path);
    expect(verified.code).toBe(1);
    expect(verified.stderr).toMatch(/chunks: \d+ rows restored, \d+ at backup time/);
    expect(verified.stderr).toMatch(/FAILED: row counts differ/);
  });

  it('keeps the newest N dumps and their counts', async () => {
    for (let i = 0; i < 3; i += 1) expect((await backup('--keep', '2')).code).toBe(0);
    const files = readdirSync(dir).sort();
    expect(files.filter((f) => f.endsWith('.dump'))).toHaveLength(2);
    expect(files.filter((f) => f.endsWith('.counts'))).toHaveLength(2);
    expect(files.some((f) => f.endsWith('.partial'))).toBe(false);
    expect((await verify()).code).toBe(0);
  });

  it('copies offsite with the S3 command when configured, and says so when that fails', async () => {
    const shims = tempDir('aws');
    try {
      const calls = join(shims, 'calls.log');
      const aws = join(shims, 'aws');
      writeFileSync(aws, `#!/bin/sh\necho "$*" >> ${calls}\n[ -z "$AWS_FAIL" ]\n`, { mode: 0o755 });
      const env = {
        BACKUP_S3_URL: 's3://ragedge-backups/vps1/',
        BACKUP_S3_ENDPOINT: 'https://acct.r2.cloudflarestorage.com',
        BACKUP_AWS: aws,
      };
      const ok = await runCommand(
        'bash',
        ['scripts/backup.sh', '--dir', dir, '--database-url', url],
        { env },
      );
      expect(ok.code).toBe(0);
      const name = ok.stdout.trim().split('\n').at(-1)!.split('/').at(-1)!;
      const log = readFileSync(calls, 'utf8');
      expect(log).toContain(
        `s3 cp --only-show-errors --endpoint-url https://acct.r2.cloudflarestorage.com ${dir}/${name} s3://ragedge-backups/vps1/${name}`,
      );
      expect(log).toContain(`s3://ragedge-backups/vps1/${name.replace(/\.dump$/, '.counts')}`);
      const failed = await runCommand(
        'bash',
        ['scripts/backup.sh', '--dir', dir, '--database-url', url],
        {
          env: { ...env, AWS_FAIL: '1' },
        },
      );
      expect(failed.code).toBe(3);
      expect(failed.stderr).toMatch(/the local dump is fine; the offsite copy is not/);
      const skipped = await runCommand(
        'bash',
        ['scripts/backup.sh', '--dir', dir, '--database-url', url, '--no-offsite'],
        {
          env: { ...env, AWS_FAIL: '1' },
        },
      );
      expect(skipped.code).toBe(0);
    } finally {
      rmSync(shims, { recursive: true, force: true });
    }
  });

  it('copies with rclone from the PATH cron gives it, and names the missing tool when it is not there', async () => {
    const shims = tempDir('rclone');
    try {
      const calls = join(shims, 'calls.log');
      writeFileSync(join(shims, 'rclone'), `#!/bin/sh\necho "$*" >> ${calls}\n`, { mode: 0o755 });
      const env = { BACKUP_S3_URL: '', BACKUP_RCLONE_REMOTE: 'r2:ragedge-backups/vps1' };
      // cron's own PATH, with the directory the package installs rclone into standing first.
      const cronPath = `${shims}:/usr/bin:/bin`;
      const ok = await runCommand(
        'bash',
        ['scripts/backup.sh', '--dir', dir, '--database-url', url],
        {
          env: { ...env, PATH: cronPath },
        },
      );
      expect(ok.code, ok.stderr).toBe(0);
      expect(readFileSync(calls, 'utf8')).toMatch(
        /^copy .*\.dump .*\.counts r2:ragedge-backups\/vps1$/m,
      );
      const missing = await runCommand(
        'bash',
        ['scripts/backup.sh', '--dir', dir, '--database-url', url],
        {
          env: { ...env, PATH: '/usr/bin:/bin', BACKUP_RCLONE: 'rclone-not-installed' },
        },
      );
      expect(missing.code).toBe(3);
      expect(missing.stderr).toMatch(
        /'rclone-not-installed' is not installed or not in PATH \(\/usr\/bin:\/bin\)/,
      );
    } finally {
      rmSync(shims, { recursive: true, force: true });
    }
  });

  it('fails without leaving a partial file when the database cannot be reached', async () => {
    const before = readdirSync(dir).sort();
    const result = await runCommand('bash', [
      'scripts/backup.sh',
      '--dir',
      dir,
      '--database-url',
      'postgres://postgres@127.0.0.1:1/nope',
    ]);
    expect(result.code).toBe(1);
    expect(readdirSync(dir).sort()).toEqual(before);
  });
});
