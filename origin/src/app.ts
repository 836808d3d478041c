import { Hono } from 'hono';
import { requestId } from 'hono/request-id';
import { READER_BASE } from '../../contract/routes.js';
import type { AppEnv, ReaderEnv } from './app-env.js';
import { accessLog } from './middleware/access-log.js';
import { adminAuth } from './middleware/admin-auth.js';
import { edgeSecret } from './middleware/edge-secret.js';
import { errorHandler, notFoundHandler } from './middleware/error-handler.js';
import { READER_PATHS, readerAccess } from './middleware/reader-access.js';
import { readerLimits } from './middleware/reader-limits.js';
import { httpMetrics } from './observability/http-metrics.js';
import { registerConsole } from './routes/admin/console.js';
import { registerAdminSession } from './routes/admin/session.js';
import { registerChat } from './routes/chat/post.js';
import { registerChatSite, siteServed } from './routes/chat-site/get.js';
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
import type { Services } from './services.js';

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

  // Reader routes first: each of their paths is answered by the reader app (a method it does not
  // serve is a 404 there), so the admin app's guard never sees them.
  app.route(READER_BASE, readerApp(services));
  app.route('/api/v1/sites', adminApp(services));
  registerChatSite(app, services);

  return app;
}

/**
 * The routes readers reach with a site's public key (or the admin token): `readerAccess` lets
 * them in and resolves their site once; chat, search and feedback spend readers' budgets.
 */
function readerApp(services: Services): Hono<ReaderEnv> {
  const reader = new Hono<ReaderEnv>();
  const access = readerAccess({
    db: () => services.db.pool,
    adminToken: services.adminToken,
    ownOrigins: services.config.PUBLIC_ORIGINS,
    sameOrigin: siteServed(services.config),
    sessions: services.operator.sessions,
    allowedHosts: services.config.allowedHosts,
  });
  for (const path of READER_PATHS) reader.use(path, access);
  const limits = { limits: services.limits, config: services.config };
  reader.use(
    '/:site/chat',
    readerLimits({
      ...limits,
      bucket: (c) => (c.req.header('last-event-id') === undefined ? 'chat' : 'resume'),
    }),
  );
  reader.use('/:site/search', readerLimits({ ...limits, bucket: 'search' }));
  // A vote's body is read before its budget is checked, as it always was.
  reader.use(
    '/:site/messages/:messageId/feedback',
    readerLimits({ ...limits, bucket: 'other', checkFirst: false }),
  );
  registerSearch(reader, services);
  registerChat(reader, services);
  registerFeedback(reader, services);
  registerSiteConfig(reader);
  for (const path of READER_PATHS) reader.all(path, notFoundHandler);
  return reader;
}

/** Everything else under `/api/v1/sites`: the operator's, behind the admin token or console. */
function adminApp(services: Services): Hono<AppEnv> {
  const admin = new Hono<AppEnv>();
  admin.use('*', adminAuth(services.adminToken, services.operator.sessions));
  registerCreateSite(admin, services);
  registerGetSites(admin, services);
  registerUpdateSite(admin, services);
  registerDeleteSite(admin, services);
  registerReindexSite(admin, services);
  registerCreateDocument(admin, services);
  registerGetDocuments(admin, services);
  registerDeleteDocument(admin, services);
  registerCreateSource(admin, services);
  registerGetSources(admin, services);
  registerDeleteSource(admin, services);
  registerSyncSources(admin, services);
  registerGetJobs(admin, services);
  registerGetQuestions(admin, services);
  registerGetInsights(admin, services);
  registerGetWebhook(admin, services);
  return admin;
}
