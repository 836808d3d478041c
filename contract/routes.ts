/**
 * The routes readers reach with a site's public key, under `/api/v1/sites` (`READER_BASE`):
 * chat, search, the reader config and the feedback on an answer. Third-party pages call them
 * cross-origin: the origin mounts and guards exactly these (as Hono paths), and the edge answers
 * their CORS preflights by `READER_ROUTE`, which is built from the same list.
 */
export const READER_BASE = '/api/v1/sites';

/** The reader paths under `READER_BASE`, as Hono route patterns; each starts with `/:site/`. */
export const READER_PATHS = [
  '/:site/chat',
  '/:site/search',
  '/:site/config',
  '/:site/messages/:messageId/feedback',
] as const;

/**
 * A full reader path: the first group is the site (its name or its public key), the second what
 * follows it (`chat`, `search`, `config`, `messages/<id>/feedback`).
 */
export const READER_ROUTE = new RegExp(
  `^${READER_BASE}/([^/]+)/(${READER_PATHS.map((path) =>
    path.slice('/:site/'.length).replace(/:[A-Za-z]+/g, '[^/]+'),
  ).join('|')})$`,
);

/** What a page's script may send and read on the reader routes, for CORS at the origin and edge. */
export const READER_CORS = {
  methods: 'GET, POST, OPTIONS',
  allowHeaders: 'Content-Type, X-Site-Key, Last-Event-ID, X-Request-Id',
  exposeHeaders: 'X-Request-Id, Retry-After, X-Stream-Id',
  /** Seconds a browser may keep a preflight's answer. */
  maxAge: '600',
} as const;
