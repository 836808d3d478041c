import { AppError } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { Site } from '../store/sites.js';
import {
  claimWebSource,
  finishWebSourceRun,
  getWebSource,
  renewWebSourceLease,
  type WebSource,
} from '../store/web-sources.js';
import { type SyncDeps, type SyncReport, syncSource } from './sync.js';

/**
 * Runs syncs. A small interface on purpose: a durable job queue can take its place later without
 * the routes or the scheduler changing.
 */
export interface SyncRunner {
  /** Syncs one source of the site now (a dry run stores nothing and records no status). */
  run(site: Site, sourceId: number, options?: { dryRun?: boolean }): Promise<SyncReport>;
  /** Runs a source whose lease the caller already holds; records the status and frees it. */
  runClaimed(site: Site, source: WebSource): Promise<SyncReport>;
  /** Aborts the runs in progress and waits for them. */
  close(): Promise<void>;
}

/** Runs each sync in process, one run per source at a time across origins (a lease in the row). */
export class InProcessSyncRunner implements SyncRunner {
  private readonly running = new Map<AbortController, Promise<unknown>>();

  constructor(
    private readonly deps: SyncDeps & {
      leaseSeconds: number;
      metrics?: Pick<Metrics, 'syncPages' | 'syncRuns'>;
    },
  ) {}

  async run(site: Site, sourceId: number, options: { dryRun?: boolean } = {}) {
    const source = await getWebSource(this.deps.db.pool, site.id, sourceId);
    if (options.dryRun === true) return syncSource(this.deps, site, source, { dryRun: true });
    const claimed = await claimWebSource(this.deps.db.pool, source.id, this.deps.leaseSeconds);
    if (claimed === null) {
      throw new AppError(
        'conflict',
        `a sync of web source ${source.id} is already running (or its origin died; its claim lapses within ${this.deps.leaseSeconds} s)`,
      );
    }
    return this.runClaimed(site, claimed);
  }

  async runClaimed(site: Site, source: WebSource): Promise<SyncReport> {
    const controller = new AbortController();
    const run = this.execute(site, source, controller.signal);
    this.running.set(controller, run);
    try {
      return await run;
    } finally {
      this.running.delete(controller);
    }
  }

  async close(): Promise<void> {
    for (const controller of this.running.keys()) controller.abort();
    await Promise.allSettled(this.running.values());
  }

  private async execute(site: Site, source: WebSource, signal: AbortSignal): Promise<SyncReport> {
    const { db, logger, metrics, leaseSeconds } = this.deps;
    const started = performance.now();
    // Renewed at a third of its length, so that two missed renewals still leave it held.
    const heartbeat = setInterval(
      () => {
        renewWebSourceLease(db.pool, source.id, leaseSeconds).catch((error: unknown) =>
          logger.warn({ err: error, source: source.id }, 'could not renew a sync lease'),
        );
      },
      (leaseSeconds * 1000) / 3,
    );
    heartbeat.unref();
    try {
      const report = await syncSource(this.deps, site, source, { signal });
      await finishWebSourceRun(db.pool, source.id, {
        status: 'ok',
        error: report.failures.length === 0 ? null : summarize(report),
        stats: report.stats,
      });
      metrics?.syncRuns.inc({ status: 'ok' });
      logger.info(
        {
          site: site.name,
          source: source.id,
          ...report.stats,
          ms: Math.round(performance.now() - started),
        },
        'web source synced',
      );
      return report;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      metrics?.syncRuns.inc({ status: 'failed' });
      logger.warn({ site: site.name, source: source.id, err: message }, 'web source sync failed');
      await finishWebSourceRun(db.pool, source.id, {
        status: 'failed',
        error: message.slice(0, 1000),
        stats: { seen: 0, added: 0, updated: 0, unchanged: 0, removed: 0, failed: 0 },
      }).catch(() => {});
      if (error instanceof AppError) throw error;
      throw new AppError('unavailable', `the sync of ${source.url} failed: ${message}`);
    } finally {
      clearInterval(heartbeat);
    }
  }
}

function summarize(report: SyncReport): string {
  const first = report.failures[0]!;
  return `${report.stats.failed} page(s) failed, e.g. ${first.url}: ${first.reason}`.slice(0, 1000);
}
