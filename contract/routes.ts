/**
 * The routes readers reach with a site's public key, which third-party pages call cross-origin:
 * `/api/v1/sites/:site/(chat|search|config)` and the feedback on an answer,
 * `/api/v1/sites/:site/messages/:messageId/feedback`. The first group is the site (its name or
 * its public key). The origin checks access on them; the edge answers their CORS preflights.
 */
export const READER_ROUTE =
  /^\/api\/v1\/sites\/([^/]+)\/(chat|search|config|messages\/[^/]+\/feedback)$/;

/** What a page's script may send and read on the reader routes, for CORS at the origin and edge. */
export const READER_CORS = {
  methods: 'GET, POST, OPTIONS',
  allowHeaders: 'Content-Type, X-Site-Key, Last-Event-ID, X-Request-Id',
  exposeHeaders: 'X-Request-Id, Retry-After',
  /** Seconds a browser may keep a preflight's answer. */
  maxAge: '600',
} as const;
