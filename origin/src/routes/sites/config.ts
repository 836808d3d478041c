import type { Hono } from 'hono';
import type { ReaderConfigResponse } from '../../../../contract/responses.js';
import type { ReaderEnv } from '../../app-env.js';
import { readerSettings } from './settings.js';

/**
 * `GET /api/v1/sites/:site/config`: the site's title and reader settings for the widget and the
 * chat site, with the site's public key from an allowed origin (like chat). No key, origin list,
 * webhook or count is ever in it.
 */
export function registerSiteConfig(app: Hono<ReaderEnv>): void {
  app.get('/:site/config', async (c) => {
    const site = c.get('site');
    const body: ReaderConfigResponse = {
      site: { name: site.name, title: site.title, ...readerSettings(site) },
    };
    // Short, private: a changed setting reaches readers within a minute, and no shared cache
    // keeps one site's answer for another key.
    c.header('Cache-Control', 'private, max-age=60');
    // A browser must not answer for another key from its cache (a rotated or foreign key).
    c.header('Vary', 'X-Site-Key', { append: true });
    return c.json(body);
  });
}
