import type { Hono } from 'hono';
import type { AppEnv } from '../../app-env.js';
import { parseWith } from '../../lib/validate.js';
import type { Services } from '../../services.js';
import { getSite } from '../../store/sites.js';
import { SiteName } from '../schemas.js';
import { DocumentId } from './get.js';

/** `DELETE /api/v1/sites/:site/documents/:id`: the document and its chunks, at once. */
export function registerDeleteDocument(app: Hono<AppEnv>, services: Services): void {
  app.delete('/:site/documents/:id', async (c) => {
    const site = await getSite(services.db.pool, parseWith(SiteName, c.req.param('site'), 'site'));
    await services.ingestion.deleteDocument(site, parseWith(DocumentId, c.req.param('id'), 'id'));
    return c.body(null, 204);
  });
}
