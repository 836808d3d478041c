import { ApiCallError, INGEST_BATCH_SIZE, ingestBatch } from './api.js';
import type { Collection, CollectionDocument } from './collection.js';
import type { Product } from './product.js';
import { progressTicker } from './progress.js';

/** Where the collection's documents went: the maps that turn search hits back into doc ids. */
export interface IngestedCollection {
  /** Synthetic url → collection document id. */
  byUrl: Map<string, string>;
  /** The product's document id → collection document id. */
  byDocumentId: Map<string, string>;
  /** Documents the API refused, with its reason. */
  failed: Array<{ id: string; reason: string }>;
  seconds: number;
}

/** The unique synthetic url of a collection document: a document's identity in the product. */
export function documentUrl(collection: string, id: string): string {
  return `https://eval.local/${encodeURIComponent(collection)}/${encodeURIComponent(id)}`;
}

/**
 * Ingests every document through the product's API in batches of 100. A batch the API refuses
 * as invalid (4xx) is retried one document at a time, so one bad document costs only itself.
 */
export async function ingestCollection(
  product: Product,
  site: string,
  collection: Collection,
  report: (line: string) => void,
): Promise<IngestedCollection> {
  const started = Date.now();
  const result: IngestedCollection = {
    byUrl: new Map(),
    byDocumentId: new Map(),
    failed: [],
    seconds: 0,
  };
  const items = collection.documents.map((document) => ({
    document,
    url: documentUrl(collection.name, document.id),
  }));
  for (const { document, url } of items) result.byUrl.set(url, document.id);
  const batches = Math.ceil(items.length / INGEST_BATCH_SIZE);
  const tick = progressTicker('ingest batches', batches, report);
  for (let start = 0; start < items.length; start += INGEST_BATCH_SIZE) {
    await sendBatch(product, site, items.slice(start, start + INGEST_BATCH_SIZE), result);
    tick();
  }
  result.seconds = (Date.now() - started) / 1000;
  return result;
}

async function sendBatch(
  product: Product,
  site: string,
  batch: Array<{ document: CollectionDocument; url: string }>,
  result: IngestedCollection,
): Promise<void> {
  try {
    const stored = await ingestBatch(product, site, batch);
    for (const [url, documentId] of stored) {
      const id = result.byUrl.get(url);
      if (id !== undefined) result.byDocumentId.set(documentId, id);
    }
  } catch (error) {
    if (!isRefusal(error)) throw error;
    if (batch.length === 1) {
      result.failed.push({ id: batch[0]!.document.id, reason: error.message });
      return;
    }
    for (const item of batch) await sendBatch(product, site, [item], result);
  }
}

/** A 4xx about the documents themselves, not about the site or the token. */
function isRefusal(error: unknown): error is ApiCallError {
  return error instanceof ApiCallError && [400, 413, 415, 422].includes(error.status);
}
