import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../../src/app.js';
import { buildServices } from '../../src/bootstrap.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';

/** The HTTP answer to one API call: its status and parsed JSON body (null when empty). */
export interface ApiResponse {
  status: number;
  body: unknown;
}

/** The product running in this process, reached through its own HTTP API. */
export interface Product {
  /** Calls the admin API: the only place the harness speaks HTTP. */
  call(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<ApiResponse>;
  /**
   * Calls the API with any body (a multipart upload, a chat stream) as the admin; the response
   * is returned as it is, its body unread.
   */
  raw(
    path: string,
    init: { method: string; body?: FormData | string; headers?: Record<string, string> },
  ): Promise<Response>;
  /** Closes the services and removes the temporary data folder. */
  close(): Promise<void>;
}

/** How to boot the product for an evaluation. */
export interface ProductOptions {
  /** PostgreSQL URL; without it the embedded PGlite runs in a fresh temporary folder. */
  databaseUrl?: string | undefined;
  /** The embedder to serve (`hash` by default: offline and deterministic). */
  embedder?: 'hash' | 'transformers' | 'auto';
  /** More configuration (e.g. `SEARCH_VECTOR_WEIGHT`), validated by the origin's schema. */
  settings?: Record<string, string> | undefined;
}

/**
 * Boots the product in process, as `main.ts` does but without a socket: configuration, logger,
 * services, app. Everything lives in a fresh temporary data folder with a random admin token.
 */
export async function startProduct(options: ProductOptions = {}): Promise<Product> {
  const dataDir = await mkdtemp(join(tmpdir(), 'ragedge-eval-'));
  const token = randomBytes(24).toString('base64url');
  try {
    const config = loadConfig({
      ...options.settings,
      EMBEDDER: options.embedder ?? 'hash',
      LOG_LEVEL: 'silent',
      ADMIN_TOKEN: token,
      DATA_DIR: dataDir,
      DATABASE_URL: options.databaseUrl,
    });
    const services = await buildServices(config, createLogger(config.LOG_LEVEL));
    const app = createApp(services);
    return {
      async call(method, path, body) {
        const response = await app.request(path, {
          method,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = await response.text();
        return { status: response.status, body: text === '' ? null : parseJson(text) };
      },
      raw(path, init) {
        return Promise.resolve(
          app.request(path, {
            method: init.method,
            headers: { ...init.headers, authorization: `Bearer ${token}` },
            body: init.body,
          }),
        );
      },
      async close() {
        try {
          await services.close();
        } finally {
          await rm(dataDir, { recursive: true, force: true });
        }
      },
    };
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
