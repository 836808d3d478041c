import { copyFileSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ComposeFile, composeViolations } from './compose-rules.js';
import { ROOT, runCommand, tempDir } from './helpers.js';

/** Parses YAML with PyYAML (Debian's python3-yaml): there is no YAML parser in package.json. */
async function parseYaml(path: string): Promise<ComposeFile> {
  const result = await runCommand('python3', [
    '-c',
    'import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)',
    path,
  ]);
  expect(result.stderr).toBe('');
  return JSON.parse(result.stdout) as ComposeFile;
}

describe('docker-compose files', () => {
  let dir: string;
  beforeAll(() => {
    // `config` needs the env_file to exist; a copy keeps any real .env out of the test.
    dir = tempDir('compose');
    for (const file of ['docker-compose.yml', 'docker-compose.prod.yml']) {
      copyFileSync(join(ROOT, file), join(dir, file));
    }
    copyFileSync(join(ROOT, '.env.example'), join(dir, '.env'));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const file of ['docker-compose.yml', 'docker-compose.prod.yml']) {
    it(`${file}: docker-compose config validates it`, async () => {
      const result = await runCommand(
        'docker-compose',
        ['-f', file, '--profile', 'monitoring', 'config', '-q'],
        {
          cwd: dir,
        },
      );
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
    });

    it(`${file}: loopback ports, memory limits, restart policies, health checks, no secrets`, async () => {
      const path = join(ROOT, file);
      const compose = await parseYaml(path);
      expect(Object.keys(compose.services).length).toBeGreaterThanOrEqual(4);
      expect(composeViolations(compose, readFileSync(path, 'utf8'))).toEqual([]);
    });
  }

  it('the checker finds each kind of violation (so an empty list means something)', () => {
    const bad: ComposeFile = {
      services: {
        db: {
          ports: ['5432:5432', { published: 6379, host_ip: '0.0.0.0' }],
          environment: { POSTGRES_PASSWORD: 'hunter2', POSTGRES_DB: 'x' },
        },
        origin: {
          mem_limit: '1g',
          restart: 'no',
          healthcheck: {},
          // A value taken from the environment (`${VAR}`) is not a secret written in the file.
          // biome-ignore lint/suspicious/noTemplateCurlyInString: compose interpolation, literally
          environment: ['ADMIN_TOKEN=abc123', 'LLM_API_KEY=${LLM_API_KEY}'],
          depends_on: ['db'],
        },
        nginx: {
          ports: ['80:80', '8443:443'],
          mem_limit: '64m',
          restart: 'always',
          healthcheck: {},
        },
      },
    };
    expect(composeViolations(bad, 'DATABASE_URL: postgres://rag:pw@db/rag')).toEqual([
      'db: port 5432:5432 is not bound to 127.0.0.1',
      'db: port 0.0.0.0:6379 is not bound to 127.0.0.1',
      'db: no memory limit',
      'db: no restart policy',
      'db: no health check',
      'db: secret POSTGRES_PASSWORD is written in the file; use env_file',
      'origin: no restart policy',
      'origin: secret ADMIN_TOKEN is written in the file; use env_file',
      'origin: depends on db without condition: service_healthy',
      'nginx: port 8443:443 is not bound to 127.0.0.1',
      'credentials in a URL: postgres://rag:pw@',
    ]);
  });

  it('prod: PostgreSQL tuned for 4 GB with shm above maintenance_work_mem; two Redis, the limiter never evicts', async () => {
    const compose = (await parseYaml(join(ROOT, 'docker-compose.prod.yml'))) as unknown as {
      services: Record<
        string,
        {
          command?: string;
          shm_size?: string;
          image?: string;
          env_file?: string;
          mem_limit?: string;
        }
      >;
    };
    const db = compose.services.db!;
    expect(db.image).toMatch(/^pgvector\/pgvector:pg1[67]$/);
    const setting = (name: string) => new RegExp(`-c ${name}=(\\S+)`).exec(db.command ?? '')?.[1];
    const mb = (value: string | undefined) => {
      const [, n, unit] = /^(\d+)([MG]B|mb|gb|m|g)$/i.exec(value ?? '') ?? [];
      return Number(n) * (/^g/i.test(unit ?? '') ? 1024 : 1);
    };
    expect(mb(setting('shared_buffers'))).toBeLessThanOrEqual(512);
    expect(Number(setting('max_connections'))).toBeLessThanOrEqual(50);
    expect(mb(setting('work_mem'))).toBeLessThanOrEqual(8);
    expect(mb(db.shm_size)).toBeGreaterThan(mb(setting('maintenance_work_mem')));
    // Unset, each autovacuum worker (3 by default) may take maintenance_work_mem.
    expect(3 * mb(setting('autovacuum_work_mem'))).toBeLessThan(mb(db.mem_limit) / 2);
    expect(compose.services['redis-cache']!.command).toMatch(
      /--maxmemory \d+mb --maxmemory-policy allkeys-lru/,
    );
    expect(compose.services['redis-limits']!.command).toMatch(/--maxmemory-policy noeviction/);
    expect(compose.services['redis-limits']!.command).toMatch(/--appendonly yes/);
    for (const name of ['db', 'origin-blue', 'origin-green'])
      expect(compose.services[name]!.env_file).toBe('.env');
  });

  it('.env is ignored by git and .env.example holds no real secret', async () => {
    // Read-only git: is each per-server file ignored?
    for (const path of [
      '.env',
      'deploy/deploy.env',
      'nginx/rendered/ragedge.conf',
      'run/maintenance.on',
      'backups/db/x.dump',
    ]) {
      const ignored = await runCommand('git', ['check-ignore', '-q', path]);
      expect(ignored.code, path).toBe(0);
    }
    expect((await runCommand('git', ['check-ignore', '-q', '.env.example'])).code).toBe(1);
    const example = readFileSync(join(ROOT, '.env.example'), 'utf8');
    for (const line of example.split('\n')) {
      const [key, value] = line.split(/=(.*)/s);
      if (key && !key.startsWith('#') && /PASSWORD|SECRET|TOKEN|API_KEY/.test(key)) {
        expect(['', 'change-me'], key).toContain(value);
      }
    }
  });
});
