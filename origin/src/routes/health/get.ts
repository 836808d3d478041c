import type { Hono } from 'hono';
import type { AppEnv, Services } from '../../context.js';

const DB_CHECK_TIMEOUT_MS = 2_000;

/**
 * `GET /api/v1/health`: the database, the embedder that serves and the version. 503 when the
 * database does not answer within two seconds; the deploy script waits on this.
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
      status: database.status === 'up' ? 'ok' : 'unavailable',
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
    return c.json(body, database.status === 'up' ? 200 : 503);
  });
}

async function pingDatabase(services: Services): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('database ping timed out')), DB_CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([services.db.pool.query('select 1'), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
