import type { Hono } from 'hono';
import type { AppEnv } from '../../app-env.js';
import { AppError } from '../../errors.js';
import { parseWith, readJson } from '../../lib/validate.js';
import type { Services } from '../../services.js';
import { getSite } from '../../store/sites.js';
import { listWebSources } from '../../store/web-sources.js';
import { acceptedJob, prefersAsync } from '../jobs/json.js';
import { SiteName } from '../schemas.js';
import { SyncBody } from './schema.js';

/**
 * `POST /api/v1/sites/:site/sync`: syncs the site's web sources now (or the one given), one after
 * another, and answers with what each run did. `dryRun` fetches and compares but stores nothing.
 */
export function registerSyncSources(app: Hono<AppEnv>, services: Services): void {
  app.post('/:site/sync', async (c) => {
    const site = await getSite(services.db.pool, parseWith(SiteName, c.req.param('site'), 'site'));
    // The body is optional: without one, every source of the site syncs.
    const hasBody = c.req.header('content-type') !== undefined;
    const body = parseWith(SyncBody, hasBody ? await readJson(c) : {});
    const ids =
      body.sourceId !== undefined
        ? [body.sourceId]
        : (await listWebSources(services.db.pool, site.id)).map((source) => source.id);
    if (ids.length === 0) {
      throw new AppError('not_found', `site "${site.name}" has no web sources; add one first`);
    }
    if (prefersAsync(c) && body.dryRun !== true) {
      const payload = body.sourceId === undefined ? {} : { sourceId: body.sourceId };
      return acceptedJob(c, site.name, await services.jobs.enqueueSiteWork(site, 'sync', payload));
    }
    const runs = [];
    for (const id of ids) {
      const report = await services.sync.run(site, id, { dryRun: body.dryRun });
      runs.push({ sourceId: id, ...report });
    }
    return c.json({ runs });
  });
}
