import type { Hono } from 'hono';
import type { AppEnv } from '../../app-env.js';
import { parseWith } from '../../lib/validate.js';
import { reindexSite } from '../../services/reindex.js';
import type { Services } from '../../services.js';
import { getSite } from '../../store/sites.js';
import { acceptedJob, prefersAsync } from '../jobs/json.js';
import { SiteName } from '../schemas.js';

/** `POST /api/v1/sites/:site/reindex`: re-embeds the site with the embedder this origin serves. */
export function registerReindexSite(app: Hono<AppEnv>, services: Services): void {
  app.post('/:site/reindex', async (c) => {
    const name = parseWith(SiteName, c.req.param('site'), 'site');
    const site = await getSite(services.db.pool, name);
    if (prefersAsync(c)) {
      return acceptedJob(c, name, await services.jobs.enqueueSiteWork(site, 'reindex'));
    }
    const result = await reindexSite(
      services.db,
      services.embedder,
      site,
      services.config.EMBED_BATCH_SIZE,
    );
    services.logger.info({ site: name, ...result }, 'site reindexed');
    return c.json({ reindexed: result });
  });
}
