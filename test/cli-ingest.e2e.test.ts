import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, TEST_DB, type TestDatabase } from '../origin/test/harness.js';
import { type OriginProcess, run, startOrigin } from './origin-process.js';

describe(`a new user: start the origin, ingest a folder with the CLI, see it through the API (${TEST_DB})`, () => {
  let database: TestDatabase;
  let origin: OriginProcess;
  let folder: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    database = await createTestDatabase();
    folder = mkdtempSync(join(tmpdir(), 'ragedge-docs-'));
    mkdirSync(join(folder, 'guides'));
    mkdirSync(join(folder, '.hidden'));
    writeFileSync(
      join(folder, 'index.md'),
      '# Welcome\n\nThis product answers questions about your documents.\n',
    );
    writeFileSync(
      join(folder, 'guides', 'install.md'),
      '# Install\n\n## Requirements\n\nNode.js 20.\n\n## Steps\n\nRun npm ci.\n',
    );
    writeFileSync(
      join(folder, 'guides', 'faq.md'),
      '# FAQ\n\n## Is it free?\n\nYes, it is open source.\n',
    );
    writeFileSync(join(folder, 'guides', 'image.png'), 'not ingested');
    writeFileSync(join(folder, '.hidden', 'secret.md'), '# Not ingested\n');
    // No ADMIN_TOKEN: the embedded default generates one into the data folder, and the CLI reads it.
    env = { EMBEDDER: 'hash', ...database.env };
    origin = await startOrigin(env);
  });
  afterAll(async () => {
    await origin?.stop();
    await database?.drop();
    rmSync(folder, { recursive: true, force: true });
  });

  const port = () => new URL(origin.url).port;
  const token = () => readFileSync(join(database.env.DATA_DIR!, 'admin-token'), 'utf8').trim();

  it('ingests the folder, creating the site, and prints a summary', async () => {
    const result = await run('origin/tools/cli/main.ts', ['ingest', folder, '--site', 'demo'], {
      ...env,
      PORT: port(),
    });
    expect(result.stderr).not.toMatch(/rag: /);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/created site demo \(public key pk_/);
    expect(result.stdout).toMatch(
      /3 documents \(3 new, 0 updated, 0 unchanged\), \d+ chunks written, 0 failed, in [\d.]+ s/,
    );
    // The address of the chat page for the site, with its key: served by the origin itself.
    const chat = /chat with it: (\S+)/.exec(result.stdout)?.[1];
    expect(chat).toMatch(new RegExp(`^${origin.url}/s/demo\\?key=pk_`));
  });

  it('shows the documents and their chunk counts through the API', async () => {
    const response = await fetch(`${origin.url}/api/v1/sites/demo/documents`, {
      headers: { authorization: `Bearer ${token()}` },
    });
    expect(response.status).toBe(200);
    const { documents } = (await response.json()) as {
      documents: Array<{ fileName: string; chunkCount: number }>;
    };
    expect(documents.map((d) => d.fileName).sort()).toEqual(['faq.md', 'index.md', 'install.md']);
    for (const doc of documents) expect(doc.chunkCount).toBeGreaterThan(0);
  });

  it('finds nothing to do on a second run, and lists the site', async () => {
    const again = await run('origin/tools/cli/main.ts', ['ingest', folder, '--site', 'demo'], {
      ...env,
      PORT: port(),
    });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/3 documents \(0 new, 0 updated, 3 unchanged\), 0 chunks written/);
    const sites = await run('origin/tools/cli/main.ts', ['sites'], { ...env, PORT: port() });
    expect(sites.code).toBe(0);
    expect(sites.stdout).toMatch(/demo\s+3\s+\d+\s+hash-v1\s+pk_/);
  });

  it('stores the good files of a folder and names the bad one', async () => {
    const mixed = mkdtempSync(join(tmpdir(), 'ragedge-mixed-'));
    try {
      writeFileSync(join(mixed, 'good.md'), '# Good\n\nA fine page.\n');
      writeFileSync(join(mixed, 'broken.pdf'), 'this is not a PDF at all');
      writeFileSync(join(mixed, 'also-good.txt'), 'Plain text that is fine.\n');
      const result = await run('origin/tools/cli/main.ts', ['ingest', mixed, '--site', 'mixed'], {
        ...env,
        PORT: port(),
      });
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(
        /2 documents \(2 new, 0 updated, 0 unchanged\), \d+ chunks written, 1 failed/,
      );
      expect(result.stdout).toMatch(/failed: .*broken\.pdf: broken\.pdf is not a PDF/);
    } finally {
      rmSync(mixed, { recursive: true, force: true });
    }
  });

  it('reports a health check that names the embedder and why, to the operator only', async () => {
    const anonymous = await fetch(`${origin.url}/api/v1/health`);
    expect(await anonymous.json()).toEqual({ status: 'ok' });
    const response = await fetch(`${origin.url}/api/v1/health`, {
      headers: { authorization: `Bearer ${token()}` },
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { embedder: unknown }).embedder).toMatchObject({
      id: 'hash-v1',
      reason: 'EMBEDDER=hash',
    });
  });

  it('stops cleanly on SIGTERM', async () => {
    expect(await origin.stop('SIGTERM')).toBe(0);
  });
});

describe('a bad configuration', () => {
  it('stops the boot with a message that names the variable', async () => {
    const result = await run('origin/src/main.ts', [], {
      PORT: 'eighty',
      EMBEDDER: 'gpu',
      DATA_DIR: tmpdir(),
    });
    expect(result.code).toBe(78);
    expect(result.stderr).toMatch(/PORT: .*"eighty"/);
    expect(result.stderr).toMatch(/EMBEDDER: /);
  });

  it('never prints a secret it refuses', async () => {
    const result = await run('origin/src/main.ts', [], {
      ADMIN_TOKEN: 'too-short-secret',
      DATA_DIR: tmpdir(),
    });
    expect(result.code).toBe(78);
    expect(result.stderr).toMatch(/ADMIN_TOKEN: must be at least 24 characters/);
    expect(result.stderr).not.toContain('too-short-secret');
  });
});
