import { z } from 'zod';
import type { WebSource } from '../../store/web-sources.js';
import { HttpUrl, noNul } from '../schemas.js';

/** Headers a source may not set: the fetcher owns them, or they would smuggle state. */
const RESERVED_HEADERS =
  /^(host|cookie|content-length|transfer-encoding|connection|user-agent|if-none-match|if-modified-since|accept-encoding|upgrade|te|trailer|proxy-.*)$/i;

const Glob = noNul(z.string().min(1).max(500));

/** The body of `POST /api/v1/sites/:site/sources`: a sitemap, or a start URL to crawl. */
export function createSourceBody(maxPages: number) {
  return z
    .object({
      sitemap: HttpUrl.optional(),
      url: HttpUrl.optional(),
      pathPrefix: noNul(z.string().max(500).regex(/^\//, 'must start with /')).optional(),
      include: z.array(Glob).max(50).default([]),
      exclude: z.array(Glob).max(50).default([]),
      maxPages: z.number().int().min(1).max(maxPages).default(Math.min(1_000, maxPages)),
      header: z
        .object({
          name: z
            .string()
            .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/, 'must be an HTTP header name')
            .refine((name) => !RESERVED_HEADERS.test(name), 'is a header the fetcher sets itself'),
          value: z
            .string()
            .min(1)
            .max(4096)
            .refine(
              (value) => ![...value].some((ch) => ch !== '\t' && (ch < ' ' || ch === '\u007f')),
              'must not contain control characters',
            ),
        })
        .strict()
        .optional(),
      /** Seconds between scheduled syncs; absent: manual syncs only. */
      intervalSeconds: z
        .number()
        .int()
        .min(1)
        .max(30 * 24 * 3600)
        .optional(),
    })
    .strict()
    .refine((body) => (body.sitemap === undefined) !== (body.url === undefined), {
      message: 'give either sitemap (a sitemap URL) or url (a start URL to crawl), not both',
      path: ['sitemap'],
    });
}

export const SyncBody = z
  .object({
    sourceId: z.number().int().positive().optional(),
    dryRun: z.boolean().default(false),
  })
  .strict();

/** A source as the API shows it: the private header's name only, never its value. */
export function sourceJson(source: WebSource) {
  const iso = (date: Date | null) => date?.toISOString() ?? null;
  return {
    id: source.id,
    kind: source.kind,
    url: source.url,
    pathPrefix: source.pathPrefix,
    include: source.include,
    exclude: source.exclude,
    maxPages: source.maxPages,
    header: source.headerName === null ? null : { name: source.headerName, value: '(hidden)' },
    intervalSeconds: source.intervalSeconds,
    status: {
      running: source.leaseUntil !== null && source.leaseUntil.getTime() > Date.now(),
      lastStartedAt: iso(source.lastStartedAt),
      lastFinishedAt: iso(source.lastFinishedAt),
      lastStatus: source.lastStatus,
      lastError: source.lastError,
      lastStats: source.lastStats,
      nextRunAt: iso(source.nextRunAt),
    },
    createdAt: source.createdAt.toISOString(),
  };
}
