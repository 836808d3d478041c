import { AppError } from '../errors.js';
import type { Site } from '../store/sites.js';
import type { Embedder } from './types.js';

/**
 * The text a chunk's vector is made from: its context line (title and heading path), a blank
 * line, then its content. Ingestion and reindexing both embed through this one function: if the
 * two ever differed, reindexed vectors would silently stop matching the ones written at ingest.
 */
export function embeddingText(chunk: { context: string; content: string }): string {
  return `${chunk.context}\n\n${chunk.content}`;
}

/**
 * Refuses to mix vectors of two embedders in one site, or to search a site's vectors with a
 * query embedded by another model: both would rank nonsense. A site not yet indexed (no
 * embedder recorded) takes any.
 */
export function assertSiteEmbedder(
  site: Pick<Site, 'name' | 'embedder' | 'embeddingDim'>,
  embedder: Pick<Embedder, 'id' | 'dimension'>,
): void {
  if (site.embedder === null) return;
  if (site.embedder === embedder.id && site.embeddingDim === embedder.dimension) return;
  throw new AppError(
    'embedder_mismatch',
    `site "${site.name}" was indexed with ${site.embedder} (${site.embeddingDim} dimensions) but this origin embeds with ${embedder.id} (${embedder.dimension} dimensions); run \`npm run rag -- reindex --site ${site.name}\` to re-embed it, or start the origin with the embedder that built it`,
  );
}
