import type { Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../../app-env.js';
import { parseWith, readJson } from '../../lib/validate.js';
import type { Services } from '../../services.js';
import { updateSite } from '../../store/sites.js';
import { OriginString, SiteName, siteJson, Title } from '../schemas.js';
import { SiteSettingsPatch } from './settings.js';

export const UpdateSiteBody = z
  .object({
    title: Title.optional(),
    allowedOrigins: z.array(OriginString).max(100).optional(),
    rotatePublicKey: z.boolean().optional(),
    settings: SiteSettingsPatch.optional(),
  })
  .strict();

/** `PATCH /api/v1/sites/:site`: title, allowed origins, rotation of the public key, and
 * settings (merged; a null value removes a key). */
export function registerUpdateSite(app: Hono<AppEnv>, services: Services): void {
  app.patch('/:site', async (c) => {
    const name = parseWith(SiteName, c.req.param('site'), 'site');
    const body = parseWith(UpdateSiteBody, await readJson(c));
    const site = await updateSite(services.db.pool, name, {
      title: body.title,
      allowedOrigins:
        body.allowedOrigins === undefined ? undefined : [...new Set(body.allowedOrigins)],
      rotateKey: body.rotatePublicKey,
      settings: body.settings,
    });
    return c.json({ site: siteJson(site) });
  });
}
