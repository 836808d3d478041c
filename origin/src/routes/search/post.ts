import type { Hono } from 'hono';
import { type SearchResponse, searchRequest } from '../../../../contract/index.js';
import { budgetOf, type ReaderEnv } from '../../app-env.js';
import { parseWith, readJson } from '../../lib/validate.js';
import type { Services } from '../../services.js';

/**
 * `POST /api/v1/sites/:site/search`: the top `k` chunks with title, URL, heading path and a score
 * breakdown (vector rank and similarity, full-text rank and BM25 score, fused score, rerank
 * score), and whether the best one is relevant enough to answer from.
 */
export function registerSearch(app: Hono<ReaderEnv>, services: Services): void {
  const schema = searchRequest(services.config.MAX_QUERY_CHARS);
  app.post('/:site/search', async (c) => {
    const site = c.get('site');
    // Over budget: refused before the body is read (`readerLimits`). Spent once it is valid.
    const body = parseWith(schema, await readJson(c, services.config.READER_BODY_MAX_BYTES));
    await budgetOf(c)();
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
