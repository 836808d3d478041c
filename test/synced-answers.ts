import type { AnswerReport } from '../origin/tools/eval/answers/run.js';
import { pageOf } from '../origin/tools/eval/answers/score.js';
import type { Product } from '../origin/tools/eval/product.js';

/** `http://127.0.0.1:4321/docs/api/context` → `api/context.md`, as the QA set names pages. */
export function pageOfUrl(source: string): string {
  const path = /^https?:\/\/[^/]+\/docs\/(.+)$/.exec(source.replace(/[#?].*$/, ''))?.[1];
  return path === undefined ? pageOf(source) : `${path}.md`;
}

/** Fills a site by syncing the rendered site's sitemap; what a sync reports as stored. */
export function syncFrom(sitemap: string) {
  return async (
    product: Product,
    site: string,
    set: { documents: unknown[] },
  ): Promise<AnswerReport['documents']> => {
    const added = await product.call('POST', `/api/v1/sites/${site}/sources`, {
      sitemap,
      maxPages: 1_000,
    });
    if (added.status !== 201) throw new Error(`add source: ${JSON.stringify(added.body)}`);
    const synced = await product.call('POST', `/api/v1/sites/${site}/sync`, {});
    if (synced.status !== 200) throw new Error(`sync: ${JSON.stringify(synced.body)}`);
    const [run] = (
      synced.body as {
        runs: Array<{
          stats: { added: number };
          failures?: Array<{ url: string; reason: string }>;
        }>;
      }
    ).runs;
    return {
      given: set.documents.length,
      stored: run!.stats.added,
      failed: (run!.failures ?? []).map((f) => `${f.url}: ${f.reason}`),
    };
  };
}
