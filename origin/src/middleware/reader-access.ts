import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { READER_CORS, READER_ROUTE } from '../../../contract/routes.js';
import type { AdminSessions } from '../admin/session.js';
import type { AppEnv } from '../context.js';
import { AppError } from '../errors.js';
import { hostAllowed } from '../lib/allowed-hosts.js';
import { parseWith } from '../lib/validate.js';
import { SiteName } from '../routes/schemas.js';
import { getSite, getSiteByPublicKey, PUBLIC_KEY, type Site } from '../store/sites.js';
import { sessionAdmin } from './admin-auth.js';

/** The routes readers reach with a site's public key (the contract declares them for the edge too). */
export { READER_ROUTE };

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
}): MiddlewareHandler<AppEnv> {
  const admin = digest(options.adminToken);
  return async function readerAccess(c, next) {
    const match = READER_ROUTE.exec(c.req.path);
    if (match === null) return next();
    const origin = c.req.header('origin');
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '')?.[1];
    if (bearer !== undefined && c.req.method !== 'OPTIONS') {
      if (!timingSafeEqual(digest(bearer), admin))
        throw new AppError('forbidden', 'the admin token is not valid');
      c.set('access', 'admin');
      return next();
    }
    if (
      bearer === undefined &&
      c.req.method !== 'OPTIONS' &&
      options.sessions !== undefined &&
      sessionAdmin(c, options.sessions)
    ) {
      return next();
    }
    let site: Site;
    try {
      const name = decodeURIComponent(match[1]!);
      // Checked before the query: a NUL byte in a bind parameter breaks an embedded PGlite
      // connection for the queries after it, and no valid site name needs anything but these.
      if (!SiteName.safeParse(name).success && !PUBLIC_KEY.test(name)) {
        throw new Error('not a site name');
      }
      site = await siteOfRoute(options.db(), name);
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
    if (!timingSafeEqual(digest(key), digest(site.publicKey))) {
      throw new AppError('forbidden', 'the site key does not belong to this site');
    }
    c.set('access', 'reader');
    return next();
  };
}

function setCors(c: Context, origin: string): void {
  c.header('Access-Control-Allow-Origin', origin);
  c.header('Vary', 'Origin');
  for (const [name, value] of Object.entries(CORS_HEADERS)) c.header(name, value);
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * The site a reader route names: by its name, or by its public key, which lets a widget be
 * embedded with that one attribute (`data-site="pk_…"`). Names and keys cannot collide: a key has
 * an underscore, a name cannot.
 */
export function siteOfRoute(db: import('pg').Pool, param: string): Promise<Site> {
  return PUBLIC_KEY.test(param)
    ? getSiteByPublicKey(db, param)
    : getSite(db, parseWith(SiteName, param, 'site'));
}
