import type { Hono } from 'hono';
import type { AppEnv } from '../../app-env.js';
import { parseWith } from '../../lib/validate.js';
import type { Services } from '../../services.js';
import { getSite } from '../../store/sites.js';
import { listWebSources } from '../../store/web-sources.js';
import { SiteName } from '../schemas.js';
import { sourceJson } from './schema.js';

/** `GET /api/v1/sites/:site/sources`: the site's web sources with the status of their syncs. */
export function registerGetSources(app: Hono<AppEnv>, services: Services): void {
  app.get('/:site/sources', async (c) => {
    const site = await getSite(services.db.pool, parseWith(SiteName, c.req.param('site'), 'site'));
    const sources = await listWebSources(services.db.pool, site.id);
    return c.json({ sources: sources.map(sourceJson) });
  });
}
