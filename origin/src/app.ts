import { Hono } from 'hono';
import { requestId } from 'hono/request-id';
import type { AppEnv, Services } from './context.js';
import { accessLog } from './middleware/access-log.js';
import { adminAuth } from './middleware/admin-auth.js';
import { edgeSecret } from './middleware/edge-secret.js';
import { errorHandler, notFoundHandler } from './middleware/error-handler.js';
import { READER_ROUTE, readerAccess } from './middleware/reader-access.js';
import { httpMetrics } from './observability/http-metrics.js';
import { registerConsole } from './routes/admin/console.js';
import { registerAdminSession } from './routes/admin/session.js';
import { registerChat } from './routes/chat/post.js';
import { registerDeleteDocument } from './routes/documents/delete.js';
import { registerGetDocuments } from './routes/documents/get.js';
import { registerCreateDocument } from './routes/documents/post.js';
import { registerFeedback } from './routes/feedback/post.js';
import { registerHealth } from './routes/health/get.js';
import { registerGetInsights } from './routes/insights/get.js';
import { registerGetJobs } from './routes/jobs/get.js';
import { registerMetrics } from './routes/metrics/get.js';
import { registerGetQuestions } from './routes/questions/get.js';
import { registerSearch } from './routes/search/post.js';
import { registerSite, siteServed } from './routes/site/get.js';
import { registerSiteConfig } from './routes/sites/config.js';
import { registerDeleteSite } from './routes/sites/delete.js';
import { registerGetSites } from './routes/sites/get.js';
import { registerUpdateSite } from './routes/sites/patch.js';
import { registerCreateSite } from './routes/sites/post.js';
import { registerReindexSite } from './routes/sites/reindex.js';
import { registerGetWebhook } from './routes/sites/webhook.js';
import { registerDeleteSource } from './routes/sources/delete.js';
import { registerGetSources } from './routes/sources/get.js';
import { registerCreateSource } from './routes/sources/post.js';
import { registerSyncSources } from './routes/sources/sync.js';
import { registerWidget } from './routes/widget/get.js';

/** Assembles the origin's HTTP app: middleware in order, the error handler, the routes. */
export function createApp(services: Services): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.use(requestId({ limitLength: 128 }));
  app.use(accessLog(services.logger));
  app.use(httpMetrics(services.metrics));
  app.onError(errorHandler(services.logger));
  app.notFound(notFoundHandler);
  app.use(edgeSecret(services.config.EDGE_SHARED_SECRET));

  registerHealth(app, services);
  registerWidget(app, services);
  registerMetrics(app, services);
  registerAdminSession(app, services);
  registerConsole(app, services);

  const admin = adminAuth(services.adminToken, services.operator.sessions);
  const reader = readerAccess({
    db: () => services.db.pool,
    adminToken: services.adminToken,
    ownOrigins: services.config.PUBLIC_ORIGINS,
    sameOrigin: siteServed(services.config),
    sessions: services.operator.sessions,
    allowedHosts: services.config.allowedHosts,
  });
  app.use('/api/v1/sites', admin);
  // Chat, search, feedback and the reader config take a site's public key from its allowed
  // origins; everything else is admin.
  app.use('/api/v1/sites/*', (c, next) =>
    READER_ROUTE.test(c.req.path) ? reader(c, next) : admin(c, next),
  );
  registerCreateSite(app, services);
  registerGetSites(app, services);
  registerUpdateSite(app, services);
  registerDeleteSite(app, services);
  registerReindexSite(app, services);
  registerCreateDocument(app, services);
  registerGetDocuments(app, services);
  registerDeleteDocument(app, services);
  registerCreateSource(app, services);
  registerGetSources(app, services);
  registerDeleteSource(app, services);
  registerSyncSources(app, services);
  registerGetJobs(app, services);
  registerSearch(app, services);
  registerChat(app, services);
  registerFeedback(app, services);
  registerGetQuestions(app, services);
  registerGetInsights(app, services);
  registerGetWebhook(app, services);
  registerSiteConfig(app, services);
  registerSite(app, services);

  return app;
}
