import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hono } from 'hono';
import pg from 'pg';
import { createApp } from '../src/app.js';
import type { AppEnv } from '../src/app-env.js';
import { buildServices, type Runtime } from '../src/bootstrap.js';
import { loadConfig } from '../src/config.js';
import type { Embedder } from '../src/embedders/types.js';
import { createLogger, type Logger } from '../src/logger.js';
import { checkContract } from './contract-check.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

/** Which database the integration suite runs on: `TEST_DB=postgres` or `TEST_DB=pglite`. */
export const TEST_DB = (process.env.TEST_DB ?? 'pglite') as 'postgres' | 'pglite';

/** A fresh, empty database for one test file: its own PostgreSQL database, or its own PGlite folder. */
export interface TestDatabase {
  env: Record<string, string>;
  /** A connection string for direct checks (PostgreSQL only). */
  url: string | undefined;
  drop(): Promise<void>;
}

export async function createTestDatabase(
  kind: 'postgres' | 'pglite' = TEST_DB,
): Promise<TestDatabase> {
  if (kind === 'pglite') {
    const dir = mkdtempSync(join(tmpdir(), 'ragedge-test-'));
    return {
      env: { DATA_DIR: dir },
      url: undefined,
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (adminUrl === undefined) {
    throw new Error('TEST_DB=postgres needs TEST_DATABASE_URL (eval "$(scripts/services.sh env)")');
  }
  const name = `rag_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const dir = mkdtempSync(join(tmpdir(), 'ragedge-test-'));
  return {
    env: { DATABASE_URL: url.toString(), DATA_DIR: dir },
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The origin app, in process, over a fresh database. */
export interface Harness {
  app: Hono<AppEnv>;
  services: Runtime;
  database: TestDatabase;
  /** Sends a request with the admin token unless `token: null` (or another token) is given. */
  request(method: string, path: string, options?: RequestOptions): Promise<TestResponse>;
  /** Creates a site and returns its name. */
  createSite(name?: string): Promise<string>;
  /** Counts rows of `documents` and `chunks`, for "nothing changed" checks. */
  counts(): Promise<{ documents: number; chunks: number }>;
  close(): Promise<void>;
}

/** A response whose JSON body tests read freely; its shape is what the assertions check. */
// biome-ignore lint/suspicious/noExplicitAny: test bodies are checked by assertions, not types
export type TestResponse = Omit<Response, 'json'> & { json(): Promise<any> };

export interface RequestOptions {
  json?: unknown;
  body?: RequestInit['body'];
  headers?: Record<string, string>;
  token?: string | null;
}

export async function startHarness(
  options: {
    env?: Record<string, string>;
    embedder?: Embedder;
    database?: TestDatabase;
    /** A logger to read lines back from; by default the configured level, silent in tests. */
    logger?: Logger;
  } = {},
): Promise<Harness> {
  const database = options.database ?? (await createTestDatabase());
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    ADMIN_TOKEN,
    EMBEDDER: 'hash',
    // No scheduler ticking into other tests' pools; the sync tests turn it on where they test it.
    SYNC_SCHEDULER_MS: '0',
    ...database.env,
    ...options.env,
  });
  const services = await buildServices(
    config,
    options.logger ?? createLogger(config.LOG_LEVEL),
    options.embedder === undefined
      ? {}
      : { embedder: { embedder: options.embedder, reason: 'test' } },
  );
  const app = createApp(services);
  const request = (method: string, path: string, opts: RequestOptions = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    const token = opts.token === undefined ? ADMIN_TOKEN : opts.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    let body = opts.body;
    if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers['content-type'] ??= 'application/json';
    }
    return Promise.resolve(app.request(path, { method, headers, body })).then(async (response) => {
      await checkContract(method, path, response);
      return response;
    }) as Promise<TestResponse>;
  };
  let siteCounter = 0;
  return {
    app,
    services,
    database,
    request,
    async createSite(name) {
      siteCounter += 1;
      const siteName = name ?? `site-${siteCounter}`;
      const response = await request('POST', '/api/v1/sites', { json: { name: siteName } });
      if (response.status !== 201)
        throw new Error(`createSite: ${response.status} ${await response.text()}`);
      return siteName;
    },
    async counts() {
      const { rows } = await services.db.pool.query<{ documents: number; chunks: number }>(
        'select (select count(*) from documents) as documents, (select count(*) from chunks) as chunks',
      );
      return rows[0]!;
    },
    async close() {
      await services.close();
      if (options.database === undefined) await database.drop();
    },
  };
}
