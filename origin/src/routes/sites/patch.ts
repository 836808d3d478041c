import { randomBytes } from 'node:crypto';
import type { Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv, Services } from '../../context.js';
import { parseWith, readJson } from '../../lib/validate.js';
import { getSite, updateSite } from '../../store/sites.js';
import { OriginString, SiteName, SiteSettingsPatch, siteJson, Title } from '../schemas.js';

export const UpdateSiteBody = z
  .object({
    title: Title.optional(),
    allowedOrigins: z.array(OriginString).max(100).optional(),
    rotatePublicKey: z.boolean().optional(),
    settings: SiteSettingsPatch.optional(),
  })
  .strict();

/**
 * `PATCH /api/v1/sites/:site`: title, allowed origins, rotation of the public key, and settings
 * (merged into the stored ones; `null` removes a key). Setting a webhook URL gives the site a
 * signing secret, once, which the admin reads back in `settings.webhookSecret`.
 */
export function registerUpdateSite(app: Hono<AppEnv>, services: Services): void {
  app.patch('/api/v1/sites/:site', async (c) => {
    const name = parseWith(SiteName, c.req.param('site'), 'site');
    const body = parseWith(UpdateSiteBody, await readJson(c));
    let settings: Record<string, unknown> | undefined = body.settings;
    if (typeof settings?.webhookUrl === 'string') {
      const current = await getSite(services.db.pool, name);
      if (current.settings.webhookSecret === undefined) {
        settings = { ...settings, webhookSecret: `whsec_${randomBytes(24).toString('base64url')}` };
      }
    }
    const site = await updateSite(services.db.pool, name, {
      title: body.title,
      allowedOrigins:
        body.allowedOrigins === undefined ? undefined : [...new Set(body.allowedOrigins)],
      rotateKey: body.rotatePublicKey,
      settings,
    });
    return c.json({ site: siteJson(site) });
  });
}
