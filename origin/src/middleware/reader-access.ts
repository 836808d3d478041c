import type { Context, MiddlewareHandler } from 'hono';
import { READER_CORS, READER_PATHS } from '../../../contract/routes.js';
import { bearerToken } from '../admin/bearer.js';
import type { AdminSessions } from '../admin/session.js';
import type { ReaderEnv } from '../app-env.js';
import { AppError } from '../errors.js';
import { hostAllowed } from '../lib/allowed-hosts.js';
import { sameSecret } from '../lib/client-ip.js';
import { SiteName, siteOfRoute } from '../sites/route-site.js';
import { PUBLIC_KEY, type Site } from '../store/sites.js';
import { sessionAdmin } from './admin-auth.js';

export { READER_PATHS };

const CORS_HEADERS = {
  'Access-Control-Allow-Methods': READER_CORS.methods,
  'Access-Control-Allow-Headers': READER_CORS.allowHeaders,
  'Access-Control-Expose-Headers': READER_CORS.exposeHeaders,
  'Access-Control-Max-Age': READER_CORS.maxAge,
};

/**
 * Readers' access to chat and search: the admin token, or the site's public key (`X-Site-Key`)
 * from one of the site's allowed origins. An empty list allows none but the product's own chat
 * site (`ownOrigins`). Answers CORS preflights for those origins; the admin token is never needed.
 * The site the path names is resolved here, once, and kept on the context (`c.get('site')`).
 */
export function readerAccess(options: {
  db: () => import('pg').Pool;
  adminToken: string;
  ownOrigins: readonly string[];
  /** This origin serves the chat site itself: a page of its own (same origin) may use any key. */
  sameOrigin?: boolean;
  /** The console's sessions: a signed-in operator is the admin here too. */
  sessions?: AdminSessions;
  /** Host names that are this origin (`ALLOWED_HOSTS`): the same-origin rule holds only for them. */
  allowedHosts?: readonly string[];
}): MiddlewareHandler<ReaderEnv> {
  return async function readerAccess(c, next) {
    const param = c.req.param('site') ?? '';
    const origin = c.req.header('origin');
    const bearer = bearerToken(c.req.header('authorization'));
    if (bearer !== undefined && c.req.method !== 'OPTIONS') {
      if (!sameSecret(bearer, options.adminToken))
        throw new AppError('forbidden', 'the admin token is not valid');
      c.set('access', 'admin');
      // The admin sees why a path names no site (a malformed name is a 400), as every admin route.
      c.set('site', await siteOfRoute(options.db(), param));
      return next();
    }
    if (
      bearer === undefined &&
      c.req.method !== 'OPTIONS' &&
      options.sessions !== undefined &&
      (await sessionAdmin(c, options.sessions))
    ) {
      c.set('access', 'admin');
      c.set('site', await siteOfRoute(options.db(), param));
      return next();
    }
    let site: Site;
    try {
      // Checked before the query: a NUL byte in a bind parameter breaks an embedded PGlite
      // connection for the queries after it, and no valid site name needs anything but these.
      if (!SiteName.safeParse(param).success && !PUBLIC_KEY.test(param)) {
        throw new Error('not a site name');
      }
      site = await siteOfRoute(options.db(), param);
    } catch {
      throw new AppError('not_found', 'no such site');
    }
    const allowed =
      origin === undefined ||
      options.ownOrigins.includes(origin) ||
      site.allowedOrigins.includes(origin) ||
      // Browsers send Origin on same-origin POSTs too; another page cannot claim this host's,
      // unless it rebinds its own name to this address: hence only for the allowed hosts.
      (options.sameOrigin === true &&
        hostAllowed(new URL(c.req.url).host, options.allowedHosts ?? []) &&
        origin === new URL(c.req.url).origin);
    if (!allowed) {
      // Readable by the page (CORS headers on the refusal only), so that a widget can tell "not
      // enabled on this site" from an unreachable assistant, as it can through the edge.
      throw new AppError(
        'forbidden',
        `this site does not accept requests from ${origin}; add it to the site's allowed origins`,
        {
          headers: {
            'Access-Control-Allow-Origin': origin,
            'Access-Control-Expose-Headers': CORS_HEADERS['Access-Control-Expose-Headers'],
            Vary: 'Origin',
          },
        },
      );
    }
    if (origin !== undefined) setCors(c, origin);
    if (c.req.method === 'OPTIONS') return c.body(null, 204);
    const key = c.req.header('x-site-key');
    if (key === undefined) {
      throw new AppError(
        'unauthorized',
        'send the site public key in X-Site-Key (or the admin token)',
      );
    }
    if (!sameSecret(key, site.publicKey)) {
      throw new AppError('forbidden', 'the site key does not belong to this site');
    }
    c.set('access', 'reader');
    c.set('site', site);
    return next();
  };
}

function setCors(c: Context, origin: string): void {
  c.header('Access-Control-Allow-Origin', origin);
  c.header('Vary', 'Origin');
  for (const [name, value] of Object.entries(CORS_HEADERS)) c.header(name, value);
}
