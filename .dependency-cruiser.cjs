/**
 * The import rules of the code that ships (`origin/src`, `edge-worker/src`, `web/`), checked by
 * dependency-cruiser in the unit tier (`scripts/import-graph.test.ts`) and by `npm run lint:deps`.
 *
 * Type-only imports count: a loop through types still ties the modules together, and the loop
 * this check was written for (chat turn → error handler → services type → chat turn) was one.
 */

/** The origin's HTTP layer: what turns requests into calls and results into responses. */
const HTTP_LAYER = '^origin/src/(middleware|routes)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Modules that import each other cannot be read, tested or moved one at a time.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'domain-not-on-http',
      severity: 'error',
      comment:
        'Domain code (everything in origin/src outside the HTTP layer and the files that assemble ' +
        'the app) must not import middleware or routes: the HTTP layer calls the domain, not the ' +
        'other way round.',
      from: {
        path: '^origin/src/',
        pathNot: [HTTP_LAYER, '^origin/src/(app|main|demo)\\.ts$', '\\.test\\.ts$'],
      },
      to: { path: HTTP_LAYER },
    },
    {
      name: 'middleware-not-on-routes',
      severity: 'error',
      comment: 'Middleware runs before any route: it must not need a route module.',
      from: { path: '^origin/src/middleware/' },
      to: { path: '^origin/src/routes/' },
    },
    {
      name: 'routes-not-on-middleware',
      severity: 'error',
      comment:
        'A route gets what middleware established from the context, not by calling middleware ' +
        'helpers; what both need lives in a neutral module.',
      from: { path: '^origin/src/routes/' },
      to: { path: '^origin/src/middleware/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)node_modules/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.d.ts'] },
  },
};
