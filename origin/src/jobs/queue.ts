import type { Database } from '../db/database.js';
import { withTransaction } from '../db/transaction.js';
import { AppError } from '../errors.js';
import type { IngestInput } from '../services/ingestion.js';
import {
  countPendingJobs,
  insertJob,
  insertJobInputs,
  type JobKind,
  type JobRecord,
} from '../store/jobs.js';
import type { Site } from '../store/sites.js';
import { toJobInput } from './inputs.js';

export interface JobQueueOptions {
  db: Database;
  maxAttempts: number;
  /** Jobs one site may have queued or running at once; past it a request gets a 503. */
  maxPendingPerSite: number;
  /** Told when a job is queued here, so that this origin's worker need not wait for its poll. */
  onQueued?: () => void;
  /** Told by `notify`: look for work and sweep for dead origins' jobs now. */
  onWake?: () => void;
}

/** Queues work for any origin's worker to run (see `JobWorker`); the rows are the only state. */
export class JobQueue {
  constructor(private readonly options: JobQueueOptions) {}

  /** Asks this origin's worker to look for work now (jobs queued outside this process). */
  notify(): void {
    this.options.onWake?.();
  }

  /** Queues an upload: its files are stored with the job, in the same transaction. */
  enqueueIngest(site: Site, inputs: readonly IngestInput[]): Promise<JobRecord> {
    return this.enqueue(site, 'ingest', { files: inputs.length }, inputs);
  }

  /** Queues a reindex or a sync of the site. */
  enqueueSiteWork(
    site: Site,
    kind: Exclude<JobKind, 'ingest'>,
    payload: Record<string, unknown> = {},
  ): Promise<JobRecord> {
    return this.enqueue(site, kind, payload, []);
  }

  private async enqueue(
    site: Site,
    kind: JobKind,
    payload: Record<string, unknown>,
    inputs: readonly IngestInput[],
  ): Promise<JobRecord> {
    const { db, maxAttempts, maxPendingPerSite } = this.options;
    const job = await withTransaction(db.pool, async (client) => {
      if ((await countPendingJobs(client, site.id)) >= maxPendingPerSite) {
        throw new AppError(
          'overloaded',
          `site "${site.name}" has ${maxPendingPerSite} jobs waiting or running; try again when some have finished`,
          { headers: { 'Retry-After': '30' } },
        );
      }
      const created = await insertJob(client, { siteId: site.id, kind, payload, maxAttempts });
      await insertJobInputs(client, created.id, inputs.map(toJobInput));
      return created;
    });
    this.options.onQueued?.();
    return job;
  }
}
