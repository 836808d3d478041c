import type { Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../../app-env.js';
import { parseWith, readJson } from '../../lib/validate.js';
import type { Services } from '../../services.js';
import { createSite } from '../../store/sites.js';
import { OriginString, SiteName, siteJson, Title } from '../schemas.js';

export const CreateSiteBody = z.object({
  name: SiteName,
  title: Title.optional(),
  allowedOrigins: z.array(OriginString).max(100).default([]),
});

/** `POST /api/v1/sites`: creates a site (a knowledge base) with a new public key. */
export function registerCreateSite(app: Hono<AppEnv>, services: Services): void {
  app.post('/', async (c) => {
    const body = parseWith(CreateSiteBody, await readJson(c));
    const site = await createSite(services.db.pool, {
      name: body.name,
      title: body.title ?? body.name,
      allowedOrigins: [...new Set(body.allowedOrigins)],
    });
    return c.json({ site: siteJson(site) }, 201);
  });
}
