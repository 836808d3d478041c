import { z } from 'zod';
import type { CollectionDocument } from './collection.js';
import type { ApiResponse, Product } from './product.js';

/** Documents per ingestion request: the API's batch limit. */
export const INGEST_BATCH_SIZE = 100;

/** How the product is asked to search: one row of the report each. */
export interface SearchSetting {
  mode: 'hybrid' | 'fulltext' | 'vector';
  rerank: boolean;
}

/** An API call that did not answer 2xx. */
export class ApiCallError extends Error {
  override name = 'ApiCallError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const IngestResponse = z.object({
  results: z.array(
    z.object({
      outcome: z.string(),
      document: z.object({ id: z.union([z.number(), z.string()]), url: z.string().nullable() }),
    }),
  ),
});

const SearchResponse = z.object({
  results: z.array(
    z.object({
      documentId: z.union([z.number(), z.string()]),
      url: z.string().nullable().optional(),
    }),
  ),
  tookMs: z.number(),
});

/** One search: the chunks' documents in rank order, as the API's ids and urls. */
export interface SearchHits {
  hits: Array<{ documentId: string; url: string | null }>;
  tookMs: number;
}

/** Creates the site; throws an `ApiCallError` unless the API answers 201. */
export async function createSite(product: Product, name: string): Promise<void> {
  expectOk(await product.call('POST', '/api/v1/sites', { name }), 'create site');
}

/** Deletes the site and everything in it (for a shared PostgreSQL). */
export async function deleteSite(product: Product, name: string): Promise<void> {
  expectOk(await product.call('DELETE', `/api/v1/sites/${name}`), 'delete site');
}

/**
 * Sends documents (at most `INGEST_BATCH_SIZE`) as plain text, each with its unique `url`;
 * returns the product's document id for each url it stored.
 */
export async function ingestBatch(
  product: Product,
  site: string,
  batch: ReadonlyArray<{ document: CollectionDocument; url: string }>,
): Promise<Map<string, string>> {
  const documents = batch.map(({ document, url }) => ({
    title: (document.title.trim() || document.id).slice(0, 500),
    content: document.text.trim() || document.title.trim() || document.id,
    format: 'text',
    url,
  }));
  const response = await product.call('POST', `/api/v1/sites/${site}/documents`, { documents });
  const body = IngestResponse.parse(expectOk(response, 'ingest documents'));
  const stored = new Map<string, string>();
  for (const { document } of body.results) {
    if (document.url !== null) stored.set(document.url, String(document.id));
  }
  return stored;
}

/** Runs one query; `k` is the number of chunks asked for (1–200). */
export async function search(
  product: Product,
  site: string,
  query: string,
  k: number,
  setting: SearchSetting,
): Promise<SearchHits> {
  const response = await product.call('POST', `/api/v1/sites/${site}/search`, {
    query: query.slice(0, 1000),
    k,
    mode: setting.mode,
    rerank: setting.rerank,
  });
  const body = SearchResponse.parse(expectOk(response, 'search'));
  return {
    hits: body.results.map((hit) => ({ documentId: String(hit.documentId), url: hit.url ?? null })),
    tookMs: body.tookMs,
  };
}

function expectOk(response: ApiResponse, what: string): unknown {
  if (response.status >= 200 && response.status < 300) return response.body;
  const error = (response.body as { error?: { message?: string } } | null)?.error;
  throw new ApiCallError(
    response.status,
    `${what}: HTTP ${response.status}${error?.message ? ` (${error.message})` : ''}`,
  );
}
