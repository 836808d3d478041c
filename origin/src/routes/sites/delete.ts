import type { Hono } from 'hono';
import type { AppEnv } from '../../app-env.js';
import { parseWith } from '../../lib/validate.js';
import type { Services } from '../../services.js';
import { deleteSite } from '../../store/sites.js';
import { SiteName } from '../schemas.js';

/** `DELETE /api/v1/sites/:site`: the site, its documents and chunks. */
export function registerDeleteSite(app: Hono<AppEnv>, services: Services): void {
  app.delete('/:site', async (c) => {
    const name = parseWith(SiteName, c.req.param('site'), 'site');
    await deleteSite(services.db.pool, name);
    return c.body(null, 204);
  });
}
