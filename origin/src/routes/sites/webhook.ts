import type { Hono } from 'hono';
import type { AppEnv } from '../../app-env.js';
import { siteWebhookSecret } from '../../feedback/webhook.js';
import { parseWith } from '../../lib/validate.js';
import type { Services } from '../../services.js';
import { getSite } from '../../store/sites.js';
import { SiteName } from '../schemas.js';

/**
 * `GET /api/v1/sites/:site/webhook` (admin): where the site's unanswered questions and downvotes
 * go (`settings.webhookUrl`), and the secret that signs them, to check `X-Ragedge-Signature`.
 */
export function registerGetWebhook(app: Hono<AppEnv>, services: Services): void {
  app.get('/:site/webhook', async (c) => {
    const site = await getSite(services.db.pool, parseWith(SiteName, c.req.param('site'), 'site'));
    const url = site.settings.webhookUrl;
    c.header('Cache-Control', 'no-store');
    return c.json({
      webhook: {
        url: typeof url === 'string' ? url : null,
        secret: siteWebhookSecret(services.adminToken, site.name),
      },
    });
  });
}
