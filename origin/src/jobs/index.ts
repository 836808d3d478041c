import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { type JobHandlerDeps, jobHandlers } from './handlers.js';
import { JobQueue } from './queue.js';
import { JobWorker } from './worker.js';

/** The queue routes put work on, and this origin's worker that takes work off it. */
export interface Jobs {
  queue: JobQueue;
  worker: JobWorker;
}

/**
 * Builds the job queue and this origin's worker (started: it runs in process on PGlite as on
 * PostgreSQL). `JOBS_CONCURRENCY=0` makes an origin that queues work but runs none.
 */
export function createJobs(
  config: Pick<
    Config,
    | 'JOBS_CONCURRENCY'
    | 'JOBS_POLL_MS'
    | 'JOBS_LEASE_SECONDS'
    | 'JOBS_MAX_ATTEMPTS'
    | 'JOBS_MAX_PENDING_PER_SITE'
    | 'JOBS_KEEP_DAYS'
  >,
  deps: JobHandlerDeps & { logger: Logger },
): Jobs {
  const worker = new JobWorker({
    pool: deps.db.pool,
    logger: deps.logger,
    handlers: jobHandlers(deps),
    concurrency: config.JOBS_CONCURRENCY,
    // On PGlite only this process queues jobs, and it wakes its worker itself: the poll only
    // picks up retries and a previous run's leftovers, and stays off the single connection.
    pollMs: deps.db.kind === 'pglite' ? Math.max(config.JOBS_POLL_MS, 30_000) : config.JOBS_POLL_MS,
    leaseSeconds: config.JOBS_LEASE_SECONDS,
    keepDays: config.JOBS_KEEP_DAYS,
  });
  const queue = new JobQueue({
    db: deps.db,
    maxAttempts: config.JOBS_MAX_ATTEMPTS,
    maxPendingPerSite: config.JOBS_MAX_PENDING_PER_SITE,
    onQueued: () => worker.wake(),
    onWake: () => worker.wake({ housekeeping: true }),
  });
  worker.start();
  return { queue, worker };
}
