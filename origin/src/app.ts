import { Hono } from 'hono';
import { requestId } from 'hono/request-id';
import type { AppEnv, Services } from './context.js';
import { accessLog } from './middleware/access-log.js';
import { adminAuth } from './middleware/admin-auth.js';
import { errorHandler, notFoundHandler } from './middleware/error-handler.js';
import { registerDeleteDocument } from './routes/documents/delete.js';
import { registerGetDocuments } from './routes/documents/get.js';
import { registerCreateDocument } from './routes/documents/post.js';
import { registerHealth } from './routes/health/get.js';
import { registerSearch } from './routes/search/post.js';
import { registerDeleteSite } from './routes/sites/delete.js';
import { registerGetSites } from './routes/sites/get.js';
import { registerUpdateSite } from './routes/sites/patch.js';
import { registerCreateSite } from './routes/sites/post.js';
import { registerReindexSite } from './routes/sites/reindex.js';

/** Assembles the origin's HTTP app: middleware in order, the error handler, the routes. */
export function createApp(services: Services): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.use(requestId({ limitLength: 128 }));
  app.use(accessLog(services.logger));
  app.onError(errorHandler(services.logger));
  app.notFound(notFoundHandler);

  registerHealth(app, services);

  app.use('/api/v1/sites', adminAuth(services.adminToken));
  app.use('/api/v1/sites/*', adminAuth(services.adminToken));
  registerCreateSite(app, services);
  registerGetSites(app, services);
  registerUpdateSite(app, services);
  registerDeleteSite(app, services);
  registerReindexSite(app, services);
  registerCreateDocument(app, services);
  registerGetDocuments(app, services);
  registerDeleteDocument(app, services);
  registerSearch(app, services);

  return app;
}
