import type { Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../../app-env.js';
import { insightsReport } from '../../insights/report.js';
import { parseWith } from '../../lib/validate.js';
import type { Services } from '../../services.js';
import { getSite } from '../../store/sites.js';
import { SiteName } from '../schemas.js';

export const InsightsQuery = z
  .object({ days: z.coerce.number().int().min(1).max(365).default(30) })
  .strict();

/**
 * `GET /api/v1/sites/:site/insights?days=N` (admin): answers per outcome and day, time to first
 * token, votes, the top question groups by meaning, coverage gaps (groups with unanswered
 * questions), the most cited documents and those never cited.
 */
export function registerGetInsights(app: Hono<AppEnv>, services: Services): void {
  app.get('/:site/insights', async (c) => {
    const site = await getSite(services.db.pool, parseWith(SiteName, c.req.param('site'), 'site'));
    const query = parseWith(InsightsQuery, c.req.query(), 'query');
    const report = await insightsReport(services.db.pool, services.embedder, site.id, {
      days: query.days,
      threshold: services.operator.groupSimilarity,
    });
    return c.json({ insights: report });
  });
}
