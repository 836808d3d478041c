import { randomBytes } from 'node:crypto';
import { ApiCallError, createSite, deleteSite, type SearchSetting, search } from './api.js';
import { Bm25Index } from './bm25.js';
import type { Collection, CollectionQuery, Qrels } from './collection.js';
import { type IngestedCollection, ingestCollection } from './ingest-collection.js';
import { type RunScores, scoreRun } from './metrics.js';
import { type Product, type ProductOptions, startProduct } from './product.js';
import { progressTicker } from './progress.js';

/** The product's search settings compared with the BM25 reference, one report row each. */
export const PRODUCT_RUNS: ReadonlyArray<{ label: string } & SearchSetting> = [
  { label: 'full-text only', mode: 'fulltext', rerank: false },
  { label: 'vector only', mode: 'vector', rerank: false },
  { label: 'hybrid', mode: 'hybrid', rerank: false },
  { label: 'hybrid + rerank', mode: 'hybrid', rerank: true },
];

/** What to evaluate and how. */
export interface EvalOptions extends ProductOptions {
  /** Only the first N queries of the collection (a fast slice); all by default. */
  queries?: number | undefined;
  /** Depth of every ranking, in documents (default 100). */
  k?: number;
  /** Progress lines (bounded, about ten per stage). */
  progress?: (line: string) => void;
}

/** One row of the report; `scores` is null when the run could not complete. */
export interface EvalRow {
  label: string;
  scores: RunScores | null;
  /** nDCG@10 divided by the BM25 reference's. */
  ratioToBm25: number | null;
  /** Queries whose search failed (scored as empty rankings). */
  failedQueries: number;
  /** Mean `tookMs` the product reported, when it did. */
  meanTookMs: number | null;
  error: string | null;
}

/** Every figure of one evaluation. */
export interface EvalReport {
  collection: string;
  documents: number;
  queries: number;
  k: number;
  /** Null when the product could not ingest; `refused` lists the first ten refusals. */
  ingestion: {
    stored: number;
    failed: number;
    seconds: number;
    refused: Array<{ id: string; reason: string }>;
  } | null;
  rows: EvalRow[];
}

/**
 * Evaluates the BM25 reference in memory, then ingests the collection into a fresh site of the
 * product and runs every query through its search API once per setting in `PRODUCT_RUNS`.
 */
export async function runEvaluation(
  collection: Collection,
  options: EvalOptions = {},
): Promise<EvalReport> {
  const k = options.k ?? 100;
  const report = options.progress ?? (() => {});
  const queries = collection.queries.slice(0, options.queries ?? collection.queries.length);
  const ids = queries.map((query) => query.id);
  const index = new Bm25Index(collection.documents);
  const reference = new Map(queries.map((q) => [q.id, index.search(q.text, k).map((h) => h.id)]));
  const bm25 = scoreRun(ids, reference, collection.qrels);
  const rows: EvalRow[] = [row('BM25 reference', bm25, bm25, 0, null, null)];
  const base = { collection: collection.name, documents: collection.documents.length, k };
  let product: Product | null = null;
  let ingested: IngestedCollection | null = null;
  const site = siteName(collection.name);
  try {
    product = await startProduct(options);
    await createSite(product, site);
    ingested = await ingestCollection(product, site, collection, report);
    const context = { product, site, ingested, queries, k, qrels: collection.qrels, bm25, report };
    for (const setting of PRODUCT_RUNS) rows.push(await runSetting(context, setting));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    for (const setting of PRODUCT_RUNS.slice(rows.length - 1)) {
      rows.push(row(setting.label, null, bm25, 0, null, message));
    }
  } finally {
    if (product !== null) {
      if (options.databaseUrl !== undefined) await deleteSite(product, site).catch(() => {});
      await product.close();
    }
  }
  const ingestion =
    ingested === null
      ? null
      : {
          stored: ingested.byDocumentId.size,
          failed: ingested.failed.length,
          seconds: ingested.seconds,
          refused: ingested.failed.slice(0, 10),
        };
  return { ...base, queries: queries.length, ingestion, rows };
}

/** Everything one product run needs. */
interface RunContext {
  product: Product;
  site: string;
  ingested: IngestedCollection;
  queries: CollectionQuery[];
  k: number;
  qrels: Qrels;
  bm25: RunScores;
  report: (line: string) => void;
}

async function runSetting(
  context: RunContext,
  setting: { label: string } & SearchSetting,
): Promise<EvalRow> {
  const { product, site, ingested, queries, k, bm25 } = context;
  const rankings = new Map<string, string[]>();
  const took: number[] = [];
  let failed = 0;
  let firstError: string | null = null;
  const tick = progressTicker(setting.label, queries.length, context.report);
  for (const query of queries) {
    tick();
    if (query.text.trim() === '') continue;
    try {
      // Results are chunks: ask for twice as many as documents are needed, within the API's 200.
      const result = await search(product, site, query.text, Math.min(200, k * 2), setting);
      rankings.set(query.id, toRanking(result.hits, ingested, k));
      took.push(result.tookMs);
    } catch (error) {
      if (error instanceof ApiCallError && [404, 405, 501].includes(error.status)) {
        return row(setting.label, null, bm25, 0, null, error.message);
      }
      failed += 1;
      firstError ??= error instanceof Error ? error.message : String(error);
    }
  }
  // A run where every search failed has no figures, not figures of zero.
  if (took.length === 0 && failed > 0)
    return row(setting.label, null, bm25, failed, null, firstError);
  const meanTook = took.length === 0 ? null : took.reduce((a, b) => a + b, 0) / took.length;
  const ids = queries.map((query) => query.id);
  const scores = scoreRun(ids, rankings, context.qrels);
  return row(setting.label, scores, bm25, failed, meanTook, firstError);
}

/** Chunks → documents, by first occurrence, mapped back to collection ids; cut at k. */
export function toRanking(
  hits: ReadonlyArray<{ documentId: string; url: string | null }>,
  ingested: Pick<IngestedCollection, 'byUrl' | 'byDocumentId'>,
  k: number,
): string[] {
  const ranking = new Set<string>();
  for (const hit of hits) {
    const id =
      (hit.url === null ? undefined : ingested.byUrl.get(hit.url)) ??
      ingested.byDocumentId.get(hit.documentId);
    if (id !== undefined) ranking.add(id);
    if (ranking.size >= k) break;
  }
  return [...ranking];
}

function row(
  label: string,
  scores: RunScores | null,
  bm25: RunScores,
  failedQueries: number,
  meanTookMs: number | null,
  error: string | null,
): EvalRow {
  const ratioToBm25 = scores === null || bm25.ndcg10 === 0 ? null : scores.ndcg10 / bm25.ndcg10;
  return { label, scores, ratioToBm25, failedQueries, meanTookMs, error };
}

/** A fresh, valid site name: `eval-<collection>-<random>`. */
function siteName(collection: string): string {
  const slug = collection
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
  return `eval-${slug.slice(0, 40) || 'collection'}-${randomBytes(4).toString('hex')}`;
}
