import type { Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../../app-env.js';
import { parseWith } from '../../lib/validate.js';
import type { Services } from '../../services.js';
import { getDocument, listDocuments } from '../../store/documents.js';
import { getSite } from '../../store/sites.js';
import { documentJson, SiteName } from '../schemas.js';

const DocumentId = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);

const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  before: DocumentId.optional(),
});

/** `GET /api/v1/sites/:site/documents` (paged, newest first) and `GET …/documents/:id`. */
export function registerGetDocuments(app: Hono<AppEnv>, services: Services): void {
  app.get('/:site/documents', async (c) => {
    const site = await getSite(services.db.pool, parseWith(SiteName, c.req.param('site'), 'site'));
    const query = parseWith(ListQuery, c.req.query(), 'query');
    const page = await listDocuments(services.db.pool, site.id, query);
    return c.json({ documents: page.documents.map(documentJson), nextBefore: page.nextBefore });
  });
  app.get('/:site/documents/:id', async (c) => {
    const site = await getSite(services.db.pool, parseWith(SiteName, c.req.param('site'), 'site'));
    const id = parseWith(DocumentId, c.req.param('id'), 'id');
    return c.json({ document: documentJson(await getDocument(services.db.pool, site.id, id)) });
  });
}

export { DocumentId };
