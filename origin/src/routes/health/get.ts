import type { Hono } from 'hono';
import type { HealthResponse } from '../../../../contract/index.js';
import { isAdmin } from '../../admin/bearer.js';
import type { AppEnv } from '../../app-env.js';
import type { Services } from '../../services.js';

const DB_CHECK_TIMEOUT_MS = 2_000;

/**
 * `GET /api/v1/health`: `{ status }`, 503 when the database does not answer within two seconds;
 * the deploy script waits on this. With the admin token it also names the database, the
 * embedder, reranker and answer model, the Redis servers and the version: details that tell an
 * anonymous caller what to attack are for the operator only.
 */
export function registerHealth(app: Hono<AppEnv>, services: Services): void {
  app.get('/api/v1/health', async (c) => {
    const started = performance.now();
    const database = await pingDatabase(services)
      .then(() => ({ status: 'up' as const, latencyMs: Math.round(performance.now() - started) }))
      .catch(() => ({ status: 'down' as const, latencyMs: null }));
    const probe = async (check: (() => Promise<boolean>) | null) =>
      check === null
        ? { kind: 'memory' as const }
        : { kind: 'redis' as const, status: (await check()) ? 'up' : 'down' };
    const [cache, limits] = await Promise.all([
      probe(services.redis.cache),
      probe(services.redis.limits),
    ]);
    const body = {
      status: (database.status === 'up' ? 'ok' : 'unavailable') satisfies HealthResponse['status'],
      version: services.version,
      database: { ...database, kind: services.db.kind },
      embedder: {
        id: services.embedder.id,
        dimension: services.embedder.dimension,
        reason: services.embedderReason,
      },
      reranker: { id: services.search.reranker?.id ?? null, reason: services.rerankerReason },
      answers: { generator: services.generatorId },
      cache,
      limits,
    };
    c.header('Cache-Control', 'no-store');
    const code = database.status === 'up' ? 200 : 503;
    if (!isAdmin(c.req.header('authorization'), services.adminToken)) {
      return c.json({ status: body.status }, code);
    }
    return c.json(body, code);
  });
}

async function pingDatabase(services: Services): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('database ping timed out')), DB_CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([services.db.ping(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
