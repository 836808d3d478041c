import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { Hono } from 'hono';
import type { AppEnv } from '../../app-env.js';
import { AppError } from '../../errors.js';
import type { Services } from '../../services.js';

/** The built widget in memory, keyed by the file's size and mtime so a rebuild is picked up. */
interface WidgetFile {
  size: number;
  mtimeMs: number;
  body: Uint8Array<ArrayBuffer>;
  /** The first 12 hex digits of its SHA-256, as `web/build.mjs` reports it: the `?v=` value. */
  version: string;
}

/**
 * `GET /widget.js`: the embeddable widget built by `web/build.mjs`. Readable from any page
 * (CORS `*`, `Cross-Origin-Resource-Policy: cross-origin`), never sets a cookie. Unversioned it is
 * cached for 5 minutes, so a new build reaches every page soon; with `?v=<its version>` it is
 * immutable for a year.
 */
export function registerWidget(app: Hono<AppEnv>, services: Services): void {
  let cached: WidgetFile | null = null;
  const load = async (): Promise<WidgetFile | null> => {
    const path = services.config.WIDGET_FILE;
    const info = await stat(path).catch(() => null);
    if (info === null || !info.isFile()) return null;
    if (cached !== null && cached.size === info.size && cached.mtimeMs === info.mtimeMs) {
      return cached;
    }
    const body = new Uint8Array(await readFile(path));
    const version = createHash('sha256').update(body).digest('hex').slice(0, 12);
    cached = { size: info.size, mtimeMs: info.mtimeMs, body, version };
    return cached;
  };

  app.get('/widget.js', async (c) => {
    const widget = await load();
    if (widget === null) {
      throw new AppError(
        'not_found',
        'the widget has not been built on this server; run `node web/build.mjs`',
      );
    }
    const etag = `"${widget.version}"`;
    const headers: Record<string, string> = {
      'Content-Type': 'application/javascript; charset=utf-8',
      'Cache-Control':
        c.req.query('v') === widget.version
          ? 'public, max-age=31536000, immutable'
          : 'public, max-age=300',
      ETag: etag,
      'Access-Control-Allow-Origin': '*',
      'Cross-Origin-Resource-Policy': 'cross-origin',
      'X-Content-Type-Options': 'nosniff',
    };
    const match = c.req.header('if-none-match');
    if (match?.split(',').some((tag) => tag.trim() === etag)) {
      return c.body(null, 304, headers);
    }
    return c.body(widget.body, 200, headers);
  });
}
