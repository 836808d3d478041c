import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type pg from 'pg';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import {
  claimJob,
  endJob,
  failAbandonedJobs,
  type JobEnding,
  type JobKind,
  type JobRecord,
  pruneFinishedJobs,
  renewJobLease,
  setJobProgress,
} from '../store/jobs.js';

/** What a handler may do while it runs a job. */
export interface JobContext {
  /** Aborted when the origin stops or the claim is lost: stop at the next safe point. */
  signal: AbortSignal;
  /** Records how far the job got (shown by the API and CLI); failures to record are logged only. */
  progress(progress: Record<string, unknown>): Promise<void>;
}

/** Runs one kind of job; what it returns is stored as the job's result. */
export type JobHandler = (job: JobRecord, context: JobContext) => Promise<Record<string, unknown>>;

export interface JobWorkerOptions {
  pool: pg.Pool;
  logger: Logger;
  handlers: Record<JobKind, JobHandler>;
  /** Jobs this origin runs at once (0: it runs none, other origins do). */
  concurrency: number;
  /** How often an idle worker looks for jobs queued by other origins. */
  pollMs: number;
  /** A claim lasts this long; it is renewed at a third of it, so one missed renewal is harmless. */
  leaseSeconds: number;
  /** Finished jobs are deleted after this many days. */
  keepDays: number;
}

/** Longest wait before a failed attempt is retried. */
const MAX_RETRY_DELAY_SECONDS = 300;
const PRUNE_EVERY_MS = 3_600_000;
const HOUSEKEEPING_MS = 30_000;
/** Longest a stopping origin waits for its jobs before giving them back to the queue. */
const STOP_GRACE_MS = 5_000;

/**
 * Takes jobs from the shared queue with bounded concurrency, keeps each claimed with a lease it
 * renews, and records how each ended. Any origin of one database runs one; when an origin dies
 * its leases lapse and another origin's worker claims those jobs again.
 */
export class JobWorker {
  /** Names this origin in `claimed_by` (host and pid): who ran a job, for the operator. */
  readonly id = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private readonly running = new Map<
    number,
    { token: string; controller: AbortController; done: Promise<void> }
  >();
  private timer: NodeJS.Timeout | null = null;
  private filling: Promise<void> | null = null;
  private stopped = false;
  private lastPrune = 0;
  private lastHousekeeping = 0;

  constructor(private readonly options: JobWorkerOptions) {}

  /** Polls every `pollMs` (the first poll also takes up jobs a previous run left behind). */
  start(): void {
    if (this.options.concurrency === 0 || this.timer !== null) return;
    this.timer = setInterval(() => this.wake(), this.options.pollMs);
    this.timer.unref();
  }

  /**
   * Looks for work now (a job was just queued here, or one finished and a slot is free);
   * `housekeeping` also fails the jobs whose origin died on their last attempt.
   */
  wake(options: { housekeeping?: boolean } = {}): void {
    if (options.housekeeping === true) this.lastHousekeeping = 0;
    if (this.stopped || this.options.concurrency === 0) return;
    this.filling ??= this.fill().finally(() => {
      this.filling = null;
    });
  }

  /** Jobs running here now. */
  get active(): number {
    return this.running.size;
  }

  /**
   * Stops claiming, asks running jobs to stop, and gives back those that do not finish within a
   * short grace: another origin then takes them up without waiting for a lease to lapse.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.filling;
    for (const { controller } of this.running.values()) controller.abort();
    const all = Promise.allSettled([...this.running.values()].map((run) => run.done));
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([
      all,
      new Promise((resolve) => {
        grace = setTimeout(resolve, STOP_GRACE_MS);
      }),
    ]);
    clearTimeout(grace);
    for (const [id, { token }] of this.running) {
      await endJob(this.options.pool, id, token, { status: 'released' }).catch(() => {});
    }
  }

  /**
   * Whether every pooled connection is taken (or requests wait for one): background work then
   * waits for the next poll rather than queue in front of readers (PGlite has one connection).
   */
  private poolBusy(): boolean {
    const { pool } = this.options;
    const max = pool.options.max ?? 10;
    return pool.waitingCount > 0 || (pool.totalCount >= max && pool.idleCount === 0);
  }

  private async fill(): Promise<void> {
    const { pool, logger, concurrency, leaseSeconds } = this.options;
    try {
      // One query per poll in the usual case: the sweep for dead origins' last attempts runs
      // once per HOUSEKEEPING_MS (a lapsed lease is otherwise claimed again by `claimJob`).
      if (Date.now() - this.lastHousekeeping > HOUSEKEEPING_MS && !this.poolBusy()) {
        this.lastHousekeeping = Date.now();
        await this.housekeeping();
      }
      while (!this.stopped && this.running.size < concurrency && !this.poolBusy()) {
        const token = randomBytes(16).toString('hex');
        const job = await claimJob(pool, { token, workerId: this.id, leaseSeconds });
        if (job === null) return;
        this.launch(job, token);
      }
    } catch (error) {
      logger.warn({ err: error }, 'job worker could not claim jobs');
    }
  }

  private async housekeeping(): Promise<void> {
    const { pool, logger, keepDays } = this.options;
    const failed = await failAbandonedJobs(pool);
    if (failed > 0)
      logger.warn({ jobs: failed }, 'jobs failed: their origin stopped on every attempt');
    if (Date.now() - this.lastPrune > PRUNE_EVERY_MS) {
      this.lastPrune = Date.now();
      await pruneFinishedJobs(pool, keepDays);
    }
  }

  private launch(job: JobRecord, token: string): void {
    const controller = new AbortController();
    const done = this.execute(job, token, controller).finally(() => {
      this.running.delete(job.id);
      this.wake();
    });
    this.running.set(job.id, { token, controller, done });
  }

  private async execute(job: JobRecord, token: string, controller: AbortController) {
    const { pool, logger, handlers, leaseSeconds } = this.options;
    const log = { job: job.id, kind: job.kind, site: job.siteId, attempt: job.attempts };
    logger.info(log, 'job started');
    let lost = false;
    const heartbeat = setInterval(
      () => {
        renewJobLease(pool, job.id, token, leaseSeconds).then(
          (held) => {
            if (held) return;
            lost = true;
            controller.abort();
          },
          (error: unknown) => logger.warn({ err: error, ...log }, 'could not renew a job lease'),
        );
      },
      (leaseSeconds * 1000) / 3,
    );
    heartbeat.unref();
    const context: JobContext = {
      signal: controller.signal,
      progress: (progress) =>
        setJobProgress(pool, job.id, token, progress).catch((error: unknown) =>
          logger.warn({ err: error, ...log }, 'could not record job progress'),
        ),
    };
    const started = performance.now();
    let ending: JobEnding;
    try {
      const result = await handlers[job.kind](job, context);
      ending = { status: 'succeeded', result };
    } catch (error) {
      ending = this.endingOf(job, error, controller.signal.aborted);
    } finally {
      clearInterval(heartbeat);
    }
    if (lost) {
      logger.warn(log, 'job lease lost to another origin; its outcome there counts');
      return;
    }
    try {
      const recorded = await endJob(pool, job.id, token, ending);
      const ms = Math.round(performance.now() - started);
      if (!recorded) logger.warn(log, 'job claim lapsed before it ended; not recorded');
      else if (ending.status === 'succeeded') logger.info({ ...log, ms }, 'job succeeded');
      else logger.warn({ ...log, ms, ending }, 'job did not succeed');
    } catch (error) {
      // The lease lapses and another origin runs the job again.
      logger.error({ err: error, ...log }, 'could not record how a job ended');
    }
  }

  /** A client's mistake fails at once; anything else is retried, later each time. */
  private endingOf(job: JobRecord, error: unknown, aborted: boolean): JobEnding {
    if (aborted && this.stopped) return { status: 'released' };
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof AppError && error.status < 500)
      return { status: 'failed', error: message };
    const delaySeconds = Math.min(MAX_RETRY_DELAY_SECONDS, 5 * 2 ** (job.attempts - 1));
    return { status: 'retry', error: message, delaySeconds };
  }
}
