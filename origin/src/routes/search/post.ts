import type { Hono } from 'hono';
import { z } from 'zod';
import { budgetOf, type ReaderEnv } from '../../app-env.js';
import { parseWith, readJson } from '../../lib/validate.js';
import type { Services } from '../../services.js';
import { noNul } from '../schemas.js';

const Scalar = z.union([noNul(z.string().max(1000)), z.number().finite(), z.boolean(), z.null()]);

/** The search request; `maxQueryChars` comes from configuration. */
export function searchBody(maxQueryChars: number) {
  return z
    .object({
      query: z
        .string()
        .trim()
        .min(1, 'must not be empty')
        .max(maxQueryChars, `must be at most ${maxQueryChars} characters`)
        .refine((value) => !value.includes('\u0000'), 'must not contain NUL characters'),
      k: z.number().int().min(1).max(200).default(10),
      mode: z.enum(['hybrid', 'fulltext', 'vector']).default('hybrid'),
      rerank: z.boolean().default(true),
      filter: z
        .object({
          source: z
            .union([
              noNul(z.string().max(2048)),
              z
                .array(noNul(z.string().max(2048)))
                .min(1)
                .max(100),
            ])
            .optional(),
          metadata: z
            .record(noNul(z.string().min(1).max(64)), Scalar)
            .refine((value) => Object.keys(value).length <= 20, 'must have at most 20 keys')
            .optional(),
        })
        .strict()
        .optional(),
    })
    .strict();
}

/**
 * `POST /api/v1/sites/:site/search`: the top `k` chunks with title, URL, heading path and a score
 * breakdown (vector rank and similarity, full-text rank and BM25 score, fused score, rerank
 * score), and whether the best one is relevant enough to answer from.
 */
export function registerSearch(app: Hono<ReaderEnv>, services: Services): void {
  const schema = searchBody(services.config.MAX_QUERY_CHARS);
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
    return c.json({
      ...result,
      reranker: body.rerank ? (services.search.reranker?.id ?? null) : null,
      tookMs: Math.round(performance.now() - started),
    });
  });
}
