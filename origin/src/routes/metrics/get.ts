import type { Hono } from 'hono';
import type { AppEnv } from '../../app-env.js';
import { metricsAccess } from '../../observability/metrics-access.js';
import type { Services } from '../../services.js';

/**
 * `GET /metrics`: the Prometheus exposition of this process. Readable with the admin token, or
 * directly from loopback (see `decideMetricsAccess`); the edge Worker never forwards it.
 */
export function registerMetrics(app: Hono<AppEnv>, services: Services): void {
  const { registry } = services.metrics;
  app.get('/metrics', metricsAccess(services.adminToken, services.config.allowedHosts), async (c) =>
    c.body(await registry.metrics(), 200, {
      'Content-Type': registry.contentType,
      'Cache-Control': 'no-store',
    }),
  );
}
