import type { Database } from '../db/database.js';
import { withTransaction } from '../db/transaction.js';
import {
  buildVectorIndex,
  dropVectorIndexForRewrite,
  ensureVectorIndex,
} from '../db/vector-index.js';
import { embeddingText } from '../embedders/site-vectors.js';
import type { Embedder } from '../embedders/types.js';
import { chunkTextsAfter, countChunksOfSite, setChunkEmbeddings } from '../store/chunks.js';
import { lockSite, type Site, setSiteEmbedder } from '../store/sites.js';
import { embedAll } from './embed-all.js';

/** Chunks read, embedded and written per round; bounds memory however large the site. */
const REINDEX_PAGE = 256;

export interface ReindexResult {
  chunks: number;
  from: string | null;
  to: string;
}

/**
 * Re-embeds every chunk of a site with `embedder` and records it as the site's embedder. It runs
 * in one transaction holding the site lock: readers keep the old vectors until it commits, and
 * no write can slip in between with either embedder. When no other site has vectors of the
 * embedder's dimension, the index is dropped first and built once after the commit (every row
 * is rewritten: one build costs less than maintaining the graph row by row).
 */
export async function reindexSite(
  db: Database,
  embedder: Embedder,
  site: Site,
  batchSize: number,
  onProgress?: (done: number, total: number) => void,
): Promise<ReindexResult> {
  const rebuild = await dropVectorIndexForRewrite(db.pool, embedder.dimension, site.id);
  if (!rebuild) await ensureVectorIndex(db.pool, embedder.dimension);
  try {
    return await withTransaction(db.pool, async (client) => {
      const locked = await lockSite(client, site.id, { bump: true });
      const total = await countChunksOfSite(client, site.id);
      let done = 0;
      let afterId = 0;
      for (;;) {
        const rows = await chunkTextsAfter(client, site.id, afterId, REINDEX_PAGE);
        if (rows.length === 0) break;
        const vectors = await embedAll(embedder, rows.map(embeddingText), batchSize);
        await setChunkEmbeddings(
          client,
          rows.map((row) => row.id),
          vectors,
        );
        done += rows.length;
        afterId = rows.at(-1)!.id;
        onProgress?.(done, total);
      }
      await setSiteEmbedder(client, site.id, embedder);
      return { chunks: done, from: locked.embedder, to: embedder.id };
    });
  } finally {
    // Built even when the rewrite failed: the old vectors are back and need their index.
    if (rebuild) await buildVectorIndex(db.pool, embedder.dimension);
  }
}
