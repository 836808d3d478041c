import type { Hono } from 'hono';
import type { AppEnv } from '../../app-env.js';
import { parseWith, readJson } from '../../lib/validate.js';
import type { Services } from '../../services.js';
import { getSite } from '../../store/sites.js';
import { insertWebSource } from '../../store/web-sources.js';
import { SiteName } from '../schemas.js';
import { createSourceBody, sourceJson } from './schema.js';

/** `POST /api/v1/sites/:site/sources`: adds a web source (a sitemap, or a crawl from a start URL). */
export function registerCreateSource(app: Hono<AppEnv>, services: Services): void {
  const Body = createSourceBody(services.config.SYNC_MAX_PAGES);
  app.post('/:site/sources', async (c) => {
    const site = await getSite(services.db.pool, parseWith(SiteName, c.req.param('site'), 'site'));
    const body = parseWith(Body, await readJson(c));
    const url = body.sitemap ?? body.url!;
    const source = await insertWebSource(services.db.pool, site.id, {
      kind: body.sitemap === undefined ? 'crawl' : 'sitemap',
      url,
      pathPrefix: body.pathPrefix ?? (body.url === undefined ? '/' : defaultPrefix(url)),
      include: body.include,
      exclude: body.exclude,
      maxPages: body.maxPages,
      headerName: body.header?.name ?? null,
      headerValue: body.header?.value ?? null,
      intervalSeconds: body.intervalSeconds ?? null,
    });
    return c.json({ source: sourceJson(source) }, 201);
  });
}

/** A crawl stays under its start page's folder unless told otherwise: /docs/intro → /docs/. */
function defaultPrefix(url: string): string {
  const path = new URL(url).pathname;
  return path.slice(0, path.lastIndexOf('/') + 1);
}
