import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { createApp } from './app.js';
import { BANNER_SITES, renderBanner } from './banner.js';
import { buildServices, type Runtime } from './bootstrap.js';
import { ConfigError, loadConfig } from './config.js';
import { seedDemoSite } from './demo.js';
import { configureHttpServer } from './http-server.js';
import { createLogger, type Logger, logFormat } from './logger.js';
import { offerModels } from './models/offer.js';
import { siteServed } from './routes/chat-site/get.js';
import { siteKeys } from './store/sites.js';

/** How long a reader told to reconnect should wait: long enough for a restarted origin to listen. */
const RECONNECT_AFTER_MS = 3_000;

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`origin: ${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
  // A person at a terminal gets readable lines, a question about models and a banner; a service
  // manager or a pipe gets JSON lines and no question.
  const terminal = process.stdout.isTTY === true;
  const logger = createLogger(config.LOG_LEVEL, undefined, logFormat(config.LOG_FORMAT, terminal));
  // Without a terminal (MODELS_FETCH=always), progress goes to stderr: stdout stays JSON lines.
  const models = await offerModels(config, {
    input: process.stdin,
    output: terminal ? process.stdout : process.stderr,
  });
  if (models !== 'present') logger.debug({ models }, 'model offer');
  const services = await buildServices(config, logger);
  const app = createApp(services);
  const demo = await seedDemoSite(app, services);
  const server = serve({ fetch: app.fetch, hostname: config.HOST, port: config.PORT }, (info) => {
    logger.info(
      { host: info.address, port: info.port, database: services.db.kind },
      'origin listening',
    );
    const url = `http://${browsable(info.address)}:${info.port}`;
    if (terminal) void printBanner(services, url, logger);
    else if (demo !== null && siteServed(config))
      logger.info(`chat with the demo site: ${url}${demo}`);
  });
  configureHttpServer(server as Server);

  let stopping = false;
  // Stop accepting, tell chat readers to reconnect, let other requests finish, then close the
  // services; whatever is still open when SHUTDOWN_GRACE_MS runs out is cut and the exit is 1.
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const grace = config.SHUTDOWN_GRACE_MS;
    logger.info({ signal, graceMs: grace }, 'shutting down');
    const force = setTimeout(() => {
      logger.error({ graceMs: grace }, 'shutdown grace period over; exiting with requests open');
      process.exit(1);
    }, grace);
    force.unref();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Half the grace for answers to store what they said; the rest for responses to drain.
    const streams = await services.chat.registry.shutdown(RECONNECT_AFTER_MS, grace / 2);
    logger.info({ streams }, 'chat streams told to reconnect');
    // close() ends the connections idle at that moment only; keep-alive connections whose last
    // response finishes later would hold the server open until their keep-alive timeout.
    const idleSweep = setInterval(() => {
      if ('closeIdleConnections' in server) server.closeIdleConnections();
    }, 50);
    await closed;
    clearInterval(idleSweep);
    await services
      .close()
      .catch((error: unknown) => logger.error({ err: error }, 'error while closing services'));
    logger.info('shut down');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

/** The address a browser on this machine uses for the one the server bound. */
function browsable(address: string): string {
  if (address === '0.0.0.0') return '127.0.0.1';
  if (address === '::') return '[::1]';
  return address.includes(':') ? `[${address}]` : address;
}

async function printBanner(services: Runtime, url: string, logger: Logger): Promise<void> {
  try {
    const { sites, total } = await siteKeys(services.db.pool, BANNER_SITES);
    const { config } = services;
    process.stdout.write(
      renderBanner({
        version: services.version,
        url,
        database: services.db.kind,
        dataDir: config.DATA_DIR,
        sites,
        totalSites: total,
        chatServed: siteServed(config),
        admin: services.adminTokenOrigin,
        embedder: services.embedder.id,
      }),
    );
  } catch (error) {
    logger.warn({ err: error }, 'could not print the start banner');
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `origin: could not start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
