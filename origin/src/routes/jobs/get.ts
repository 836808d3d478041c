import type { Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../../app-env.js';
import { parseWith } from '../../lib/validate.js';
import type { Services } from '../../services.js';
import { getJob, listJobs } from '../../store/jobs.js';
import { getSite } from '../../store/sites.js';
import { SiteName } from '../schemas.js';
import { jobJson } from './json.js';

const JobId = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);

const ListQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(500).default(50),
    before: JobId.optional(),
    status: z.enum(['queued', 'running', 'succeeded', 'failed']).optional(),
  })
  .strict();

/** `GET /api/v1/sites/:site/jobs` (newest first, paged) and `GET …/jobs/:id`: admin only. */
export function registerGetJobs(app: Hono<AppEnv>, services: Services): void {
  app.get('/:site/jobs', async (c) => {
    const site = await getSite(services.db.pool, parseWith(SiteName, c.req.param('site'), 'site'));
    const query = parseWith(ListQuery, c.req.query(), 'query');
    const page = await listJobs(services.db.pool, site.id, query);
    return c.json({ jobs: page.jobs.map(jobJson), nextBefore: page.nextBefore });
  });
  app.get('/:site/jobs/:id', async (c) => {
    const site = await getSite(services.db.pool, parseWith(SiteName, c.req.param('site'), 'site'));
    const job = await getJob(services.db.pool, site.id, parseWith(JobId, c.req.param('id'), 'id'));
    return c.json({ job: jobJson(job) });
  });
}
