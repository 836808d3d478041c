import type { Hono } from 'hono';
import { type SearchResponse, searchRequest } from '../../../../contract/index.js';
import type { AppEnv, Services } from '../../context.js';
import { readerKey } from '../../lib/client-ip.js';
import { parseWith, readJson } from '../../lib/validate.js';
import { checkClientBudget, enforceLimits } from '../../limits/enforce.js';
import { siteOfRoute } from '../../middleware/reader-access.js';

/**
 * `POST /api/v1/sites/:site/search`: the top `k` chunks with title, URL, heading path and a score
 * breakdown (vector rank and similarity, full-text rank and BM25 score, fused score, rerank
 * score), and whether the best one is relevant enough to answer from.
 */
export function registerSearch(app: Hono<AppEnv>, services: Services): void {
  const schema = searchRequest(services.config.MAX_QUERY_CHARS);
  app.post('/api/v1/sites/:site/search', async (c) => {
    const site = await siteOfRoute(services.db.pool, c.req.param('site'));
    const reader = c.get('access') !== 'admin';
    const client = readerKey(c, services.config);
    // Over budget: refused before the body is read. Spent only once the request is valid.
    if (reader) await checkClientBudget(services.limits, 'search', client);
    const body = parseWith(schema, await readJson(c, services.config.READER_BODY_MAX_BYTES));
    if (reader) {
      await enforceLimits(services.limits, 'search', { siteId: site.id, clientKey: client });
    }
    const started = performance.now();
    const source = body.filter?.source;
    const result = await services.search.search(site, {
      query: body.query,
      k: body.k,
      mode: body.mode,
      rerank: body.rerank,
      filter: {
        source: source === undefined ? undefined : Array.isArray(source) ? source : [source],
        metadata: body.filter?.metadata,
      },
    });
    const response: SearchResponse = {
      ...result,
      reranker: body.rerank ? (services.search.reranker?.id ?? null) : null,
      tookMs: Math.round(performance.now() - started),
    };
    return c.json(response);
  });
}
