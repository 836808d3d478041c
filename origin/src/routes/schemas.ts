import { z } from 'zod';
import { noNul } from '../../../contract/requests.js';
import type { DocumentRecord } from '../store/documents.js';
import type { Site, SiteWithCounts } from '../store/sites.js';

/** A site's name: its handle in URLs (defined beside the lookup that reads it from a path). */
export { SiteName } from '../sites/route-site.js';
export { noNul };

/** An origin as browsers send it in the Origin header: scheme, host and optional port. */
export const OriginString = z
  .string()
  .max(255)
  .refine((value) => {
    try {
      const url = new URL(value);
      return /^https?:$/.test(url.protocol) && url.origin === value;
    } catch {
      return false;
    }
  }, 'must be an origin like https://example.com (scheme, host, optional port, nothing else)');

export const Title = noNul(
  z.string().trim().min(1, 'must not be empty').max(500, 'must be at most 500 characters'),
);

/** Document metadata: a flat object of scalars, small enough to filter on. */
export const Metadata = z
  .record(
    noNul(z.string().min(1).max(64)),
    z.union([noNul(z.string().max(1000)), z.number().finite(), z.boolean(), z.null()]),
  )
  .refine((value) => Object.keys(value).length <= 50, 'must have at most 50 keys');

export const HttpUrl = noNul(z.string().max(2048, 'must be at most 2048 characters')).refine(
  (value) => {
    try {
      return /^https?:$/.test(new URL(value).protocol);
    } catch {
      return false;
    }
  },
  'must be an http(s) URL',
);

export function siteJson(site: Site | SiteWithCounts) {
  return {
    name: site.name,
    title: site.title,
    publicKey: site.publicKey,
    allowedOrigins: site.allowedOrigins,
    embedder: site.embedder === null ? null : { id: site.embedder, dimension: site.embeddingDim },
    ...('documentCount' in site
      ? { documentCount: site.documentCount, chunkCount: site.chunkCount }
      : {}),
    settings: site.settings,
    createdAt: site.createdAt.toISOString(),
    updatedAt: site.updatedAt.toISOString(),
  };
}

export function documentJson(doc: DocumentRecord) {
  return {
    id: doc.id,
    title: doc.title,
    source: doc.source,
    url: doc.url,
    fileName: doc.fileName,
    format: doc.format,
    status: doc.status,
    chunkCount: doc.chunkCount,
    byteSize: doc.byteSize,
    contentHash: doc.contentHash,
    metadata: doc.metadata,
    createdAt: doc.createdAt.toISOString(),
    updatedAt: doc.updatedAt.toISOString(),
  };
}
