import type pg from 'pg';
import type { Logger } from '../logger.js';
import { capConversationsPerSite, pruneOlderThan, RETAINED_TABLES } from '../store/retention.js';

export interface RetentionSettings {
  /** Days readers' words are kept (0: forever). */
  days: number;
  /** Conversations kept per site (0: no cap). */
  maxConversationsPerSite: number;
  intervalMs: number;
}

/** The retention job: one run on demand, and a timer that runs it every `intervalMs`. */
export interface RetentionJob {
  /** Prunes now; returns the rows deleted per table (and `cap` for the per-site cap). */
  run(): Promise<Record<string, number>>;
  stop(): void;
}

/**
 * Enforces the retention policy (see docs/limits.md): rows of {@link RETAINED_TABLES} older than
 * `days`, then each site's conversations past its cap. Runs shortly after boot and then every
 * `intervalMs`; a run that fails is logged and tried again at the next tick. Several origins may
 * run it at once: deletes of the same rows simply find nothing.
 */
export function startRetentionJob(
  db: pg.Pool,
  settings: RetentionSettings,
  logger: Logger,
): RetentionJob {
  let running: Promise<Record<string, number>> | null = null;
  const run = () => {
    running ??= (async () => {
      const deleted: Record<string, number> = {};
      try {
        if (settings.days > 0) {
          for (const target of RETAINED_TABLES) {
            deleted[target.table] = await pruneOlderThan(db, target, settings.days);
          }
        }
        if (settings.maxConversationsPerSite > 0) {
          deleted.cap = await capConversationsPerSite(db, settings.maxConversationsPerSite);
        }
        if (Object.values(deleted).some((n) => n > 0)) logger.info({ deleted }, 'retention run');
        return deleted;
      } finally {
        running = null;
      }
    })();
    return running;
  };
  const tick = () => {
    run().catch((error: unknown) => logger.warn({ err: error }, 'retention run failed'));
  };
  const first = setTimeout(tick, Math.min(settings.intervalMs, 30_000));
  const timer = setInterval(tick, settings.intervalMs);
  first.unref();
  timer.unref();
  return {
    run,
    stop() {
      clearTimeout(first);
      clearInterval(timer);
    },
  };
}
