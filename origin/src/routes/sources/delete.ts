import type { Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../../app-env.js';
import { withTransaction } from '../../db/transaction.js';
import { parseWith } from '../../lib/validate.js';
import type { Services } from '../../services.js';
import { getSite, lockSite } from '../../store/sites.js';
import { deleteWebSource } from '../../store/web-sources.js';
import { SiteName } from '../schemas.js';

const SourceId = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);

/** `DELETE /api/v1/sites/:site/sources/:id`: the source and the documents its pages became. */
export function registerDeleteSource(app: Hono<AppEnv>, services: Services): void {
  app.delete('/:site/sources/:id', async (c) => {
    const site = await getSite(services.db.pool, parseWith(SiteName, c.req.param('site'), 'site'));
    const id = parseWith(SourceId, c.req.param('id'), 'id');
    const documents = await withTransaction(services.db.pool, async (client) => {
      await lockSite(client, site.id, { bump: true });
      return deleteWebSource(client, site.id, id);
    });
    return c.json({ deleted: { source: id, documents } });
  });
}
