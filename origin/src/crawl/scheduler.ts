import type { Database } from '../db/database.js';
import { withTransaction } from '../db/transaction.js';
import type { Logger } from '../logger.js';
import { getSiteById } from '../store/sites.js';
import {
  claimWebSource,
  dueWebSourceIds,
  tryTransactionLock,
  type WebSource,
} from '../store/web-sources.js';
import type { SyncRunner } from './runner.js';

/** Arbitrary constant shared by every origin of one database: the lock of the sync scheduler. */
const SCHEDULER_LOCK_KEY = 727_015;
/** Sources claimed per tick; the rest wait for the next tick. */
const CLAIM_PER_TICK = 4;

/**
 * Runs due syncs from inside the origin. Each tick takes a transaction-scoped advisory lock, so
 * that only one origin of several looks for due sources at a time, and claims them with a lease
 * (so no other origin runs them until they finish or the lease runs out). The lock is held only
 * while claiming, never during a run, which keeps a pooled connection free for chat.
 */
export class SyncScheduler {
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;

  constructor(
    private readonly deps: {
      db: Database;
      runner: SyncRunner;
      logger: Logger;
      intervalMs: number;
      leaseSeconds: number;
    },
  ) {}

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => void this.tick(), this.deps.intervalMs);
    this.timer.unref();
  }

  /** Claims the due sources and runs them one after another; a tick never overlaps another. */
  tick(): Promise<void> {
    this.ticking ??= this.runDue().finally(() => {
      this.ticking = null;
    });
    return this.ticking;
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.ticking;
  }

  private async runDue(): Promise<void> {
    const { db, logger, runner, leaseSeconds } = this.deps;
    let claimed: WebSource[];
    try {
      claimed = await withTransaction(db.pool, async (client) => {
        if (!(await tryTransactionLock(client, SCHEDULER_LOCK_KEY))) return [];
        const sources: WebSource[] = [];
        for (const id of await dueWebSourceIds(client, CLAIM_PER_TICK)) {
          const source = await claimWebSource(client, id, leaseSeconds);
          if (source !== null) sources.push(source);
        }
        return sources;
      });
    } catch (error) {
      logger.warn({ err: error }, 'sync scheduler could not look for due sources');
      return;
    }
    for (const source of claimed) {
      try {
        await runner.runClaimed(await getSiteById(db.pool, source.siteId), source);
      } catch {
        // runClaimed has recorded and logged the failure; the next source still runs.
      }
    }
  }
}
