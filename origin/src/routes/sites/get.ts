import type { Hono } from 'hono';
import type { AppEnv } from '../../app-env.js';
import { parseWith } from '../../lib/validate.js';
import type { Services } from '../../services.js';
import { getSiteWithCounts, listSites } from '../../store/sites.js';
import { SiteName, siteJson } from '../schemas.js';

/** `GET /api/v1/sites` and `GET /api/v1/sites/:site`, with document and chunk counts. */
export function registerGetSites(app: Hono<AppEnv>, services: Services): void {
  app.get('/', async (c) => {
    const sites = await listSites(services.db.pool);
    return c.json({ sites: sites.map(siteJson) });
  });
  app.get('/:site', async (c) => {
    const name = parseWith(SiteName, c.req.param('site'), 'site');
    return c.json({ site: siteJson(await getSiteWithCounts(services.db.pool, name)) });
  });
}
