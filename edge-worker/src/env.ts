/**
 * The Worker's bindings: those `wrangler.toml` declares, typed by `wrangler types` into
 * `worker-configuration.d.ts` (`npm run types:edge`; scripts/edge-types.test.ts fails when it is stale), and the
 * secret, which is never in `wrangler.toml`. The assets binding is absent where the Worker runs
 * without the site (tests of the API alone).
 */
export interface Env extends Omit<WranglerEnv, 'ASSETS'> {
  /** A Worker secret (`wrangler secret put`), never a `[vars]` entry. */
  EDGE_SHARED_SECRET?: string;
  ASSETS?: Fetcher;
}

/** The Worker's settings, parsed once per isolate from `Env`. */
export interface EdgeConfig {
  origins: readonly URL[];
  /** How long to wait for the origin's response headers. */
  timeoutMs: number;
  /** Seconds in `Retry-After` when the origin is down or in maintenance. */
  retryAfterSeconds: number;
  /** How long an isolate trusts its last read of the maintenance flag. */
  maintenanceCacheMs: number;
  secret: string;
}

/** A bad binding; its message names the variable and never shows a secret. */
export class EdgeConfigError extends Error {
  override name = 'EdgeConfigError';
}

const parsed = new WeakMap<object, EdgeConfig>();

/** Parses `env` (cached per env object, which the runtime keeps for the life of the isolate). */
export function edgeConfig(env: Env): EdgeConfig {
  const cached = parsed.get(env);
  if (cached !== undefined) return cached;
  const config: EdgeConfig = {
    origins: parseOrigins(env.ORIGIN_URL),
    timeoutMs: parseInteger('ORIGIN_TIMEOUT_MS', env.ORIGIN_TIMEOUT_MS, 100, 120_000, 10_000),
    retryAfterSeconds: parseInteger('RETRY_AFTER_SECONDS', env.RETRY_AFTER_SECONDS, 1, 3600, 30),
    maintenanceCacheMs: parseInteger(
      'MAINTENANCE_CACHE_MS',
      env.MAINTENANCE_CACHE_MS,
      0,
      60_000,
      5_000,
    ),
    secret: parseSecret(env.EDGE_SHARED_SECRET),
  };
  parsed.set(env, config);
  return config;
}

function parseOrigins(value: string | undefined): URL[] {
  const entries = (value ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.length === 0 || entries.length > 16) {
    throw new EdgeConfigError('ORIGIN_URL: must list between 1 and 16 origin URLs');
  }
  return entries.map((entry) => {
    const url = parseUrl(entry);
    if (url === null || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
      throw new EdgeConfigError(`ORIGIN_URL: ${JSON.stringify(entry)} is not an http(s) URL`);
    }
    return url;
  });
}

function parseUrl(value: string): URL | null {
  try {
    return new URL(value);
  } catch {
    return null;
  }
}

function parseInteger(
  name: string,
  value: string | undefined,
  min: number,
  max: number,
  fallback: number,
): number {
  if (value === undefined || value.trim() === '') return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < min || number > max) {
    throw new EdgeConfigError(`${name}: must be an integer from ${min} to ${max}`);
  }
  return number;
}

// Without the secret the origin refuses every forwarded request (or, if it has none either,
// trusts a forgeable client IP): better to fail loudly at the first request.
function parseSecret(value: string | undefined): string {
  if (value === undefined || value.length < 24) {
    throw new EdgeConfigError(
      'EDGE_SHARED_SECRET: must be set (wrangler secret put) and at least 24 characters',
    );
  }
  return value;
}
