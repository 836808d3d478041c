import type pg from 'pg';
import { AppError } from '../errors.js';

/** What a job does. */
export type JobKind = 'ingest' | 'reindex' | 'sync';
export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed';

/** A job row as the API and the workers see it (the claim token stays in the database). */
export interface JobRecord {
  id: number;
  siteId: number;
  kind: JobKind;
  status: JobStatus;
  payload: Record<string, unknown>;
  attempts: number;
  maxAttempts: number;
  runAfter: Date;
  claimedBy: string | null;
  leaseUntil: Date | null;
  progress: Record<string, unknown> | null;
  result: Record<string, unknown> | null;
  error: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** One uploaded file of an ingest job: what describes it, and its bytes. */
export interface JobInput {
  meta: Record<string, unknown>;
  content: Uint8Array;
}

const JOB_COLUMNS = `j.id, j.site_id, j.kind, j.status, j.payload, j.attempts, j.max_attempts,
  j.run_after, j.claimed_by, j.lease_until, j.progress, j.result, j.error, j.created_at,
  j.started_at, j.finished_at`;

interface JobRow {
  id: number;
  site_id: number;
  kind: JobKind;
  status: JobStatus;
  payload: Record<string, unknown>;
  attempts: number;
  max_attempts: number;
  run_after: Date;
  claimed_by: string | null;
  lease_until: Date | null;
  progress: Record<string, unknown> | null;
  result: Record<string, unknown> | null;
  error: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

function toJob(row: JobRow): JobRecord {
  return {
    id: row.id,
    siteId: row.site_id,
    kind: row.kind,
    status: row.status,
    payload: row.payload,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    runAfter: row.run_after,
    claimedBy: row.claimed_by,
    leaseUntil: row.lease_until,
    progress: row.progress,
    result: row.result,
    error: row.error,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

/** Jobs of a site not yet finished: bounds how much work one site can queue. */
export async function countPendingJobs(db: Queryable, siteId: number): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `select count(*)::int as n from jobs where site_id = $1 and status in ('queued', 'running')`,
    [siteId],
  );
  return rows[0]?.n ?? 0;
}

/** Queues a job (and an upload's files, in the same transaction when `db` is one client). */
export async function insertJob(
  db: Queryable,
  job: {
    siteId: number;
    kind: JobKind;
    payload: Record<string, unknown>;
    maxAttempts: number;
  },
): Promise<JobRecord> {
  const { rows } = await db.query<JobRow>(
    `insert into jobs as j (site_id, kind, payload, max_attempts) values ($1, $2, $3, $4)
     returning ${JOB_COLUMNS}`,
    [job.siteId, job.kind, JSON.stringify(job.payload), job.maxAttempts],
  );
  return toJob(rows[0]!);
}

export async function insertJobInputs(
  db: Queryable,
  jobId: number,
  inputs: readonly JobInput[],
): Promise<void> {
  // One row per file: a bytea parameter each, so no file is ever held as text.
  for (const [position, input] of inputs.entries()) {
    await db.query(
      'insert into job_inputs (job_id, position, meta, content) values ($1, $2, $3, $4)',
      [jobId, position, JSON.stringify(input.meta), Buffer.from(input.content)],
    );
  }
}

export async function readJobInputs(db: Queryable, jobId: number): Promise<JobInput[]> {
  const { rows } = await db.query<{ meta: Record<string, unknown>; content: Buffer }>(
    'select meta, content from job_inputs where job_id = $1 order by position',
    [jobId],
  );
  return rows.map((row) => ({ meta: row.meta, content: new Uint8Array(row.content) }));
}

/**
 * Fails the running jobs whose lease lapsed after their last attempt: their origin died on
 * each try, so no other origin takes them up again.
 */
export async function failAbandonedJobs(db: Queryable): Promise<number> {
  const { rowCount } = await db.query(
    `update jobs set status = 'failed', finished_at = now(), claim_token = null, lease_until = null,
            error = 'the origin running it stopped (lease lapsed) on its last attempt'
      where status = 'running' and lease_until < now() and attempts >= max_attempts`,
  );
  if ((rowCount ?? 0) > 0) {
    await db.query(
      `delete from job_inputs i using jobs j where i.job_id = j.id and j.status = 'failed'`,
    );
  }
  return rowCount ?? 0;
}

/**
 * Claims the oldest job that is due: a queued one, or a running one whose lease lapsed (its
 * origin died). `skip locked` lets several origins claim at once without waiting on each other.
 */
export async function claimJob(
  db: Queryable,
  claim: { token: string; workerId: string; leaseSeconds: number },
): Promise<JobRecord | null> {
  const { rows } = await db.query<JobRow>(
    `with next as (
       select id from jobs
        where (status = 'queued' and run_after <= now())
           or (status = 'running' and lease_until < now() and attempts < max_attempts)
        order by id
        limit 1
        for update skip locked
     )
     update jobs j
        set status = 'running', attempts = j.attempts + 1, claim_token = $1, claimed_by = $2,
            lease_until = now() + make_interval(secs => $3), started_at = coalesce(j.started_at, now())
       from next where j.id = next.id
     returning ${JOB_COLUMNS}`,
    [claim.token, claim.workerId, claim.leaseSeconds],
  );
  return rows[0] === undefined ? null : toJob(rows[0]);
}

/** Extends a held lease; false when the claim was lost (the lease lapsed and another took it). */
export async function renewJobLease(
  db: Queryable,
  id: number,
  token: string,
  leaseSeconds: number,
): Promise<boolean> {
  const { rowCount } = await db.query(
    `update jobs set lease_until = now() + make_interval(secs => $3)
      where id = $1 and claim_token = $2 and status = 'running'`,
    [id, token, leaseSeconds],
  );
  return rowCount === 1;
}

export async function setJobProgress(
  db: Queryable,
  id: number,
  token: string,
  progress: Record<string, unknown>,
): Promise<void> {
  await db.query(
    `update jobs set progress = $3 where id = $1 and claim_token = $2 and status = 'running'`,
    [id, token, JSON.stringify(progress)],
  );
}

/** How a claimed job ended, as its worker records it. */
export type JobEnding =
  | { status: 'succeeded'; result: Record<string, unknown> }
  | { status: 'failed'; error: string }
  | { status: 'retry'; error: string; delaySeconds: number }
  /** Given back unfinished (the origin is stopping): the attempt does not count. */
  | { status: 'released' };

/**
 * Records how a claimed job ended, if the claim is still this worker's: false when it lapsed
 * and another origin has the job now (its outcome is the one that counts).
 */
export async function endJob(
  db: Queryable,
  id: number,
  token: string,
  ending: JobEnding,
): Promise<boolean> {
  const claimed = "id = $1 and claim_token = $2 and status = 'running'";
  let result: pg.QueryResult;
  switch (ending.status) {
    case 'succeeded':
    case 'failed':
      result = await db.query(
        `update jobs set status = $3, result = $4, error = $5, finished_at = now(),
                claim_token = null, lease_until = null
          where ${claimed}`,
        [
          id,
          token,
          ending.status,
          ending.status === 'succeeded' ? JSON.stringify(ending.result) : null,
          ending.status === 'failed' ? ending.error.slice(0, 2000) : null,
        ],
      );
      if (result.rowCount === 1) await db.query('delete from job_inputs where job_id = $1', [id]);
      break;
    case 'retry':
      // Out of attempts, a retry is a failure.
      result = await db.query(
        `update jobs set error = $3, claim_token = null, lease_until = null,
                status = case when attempts < max_attempts then 'queued' else 'failed' end,
                finished_at = case when attempts < max_attempts then null else now() end,
                run_after = now() + make_interval(secs => $4)
          where ${claimed}`,
        [id, token, ending.error.slice(0, 2000), ending.delaySeconds],
      );
      await db.query(
        `delete from job_inputs i using jobs j
          where i.job_id = j.id and j.id = $1 and j.status = 'failed'`,
        [id],
      );
      break;
    case 'released':
      result = await db.query(
        `update jobs set status = 'queued', attempts = greatest(attempts - 1, 0),
                claim_token = null, lease_until = null, run_after = now()
          where ${claimed}`,
        [id, token],
      );
      break;
  }
  return result.rowCount === 1;
}

export async function getJob(db: Queryable, siteId: number, id: number): Promise<JobRecord> {
  const { rows } = await db.query<JobRow>(
    `select ${JOB_COLUMNS} from jobs j where j.site_id = $1 and j.id = $2`,
    [siteId, id],
  );
  if (rows[0] === undefined) throw new AppError('not_found', `job ${id} not found`);
  return toJob(rows[0]);
}

/** A site's jobs, newest first, `limit` per page (`before`: the id to continue from). */
export async function listJobs(
  db: Queryable,
  siteId: number,
  query: { limit: number; before?: number | undefined; status?: JobStatus | undefined },
): Promise<{ jobs: JobRecord[]; nextBefore: number | null }> {
  const { rows } = await db.query<JobRow>(
    `select ${JOB_COLUMNS} from jobs j
      where j.site_id = $1 and ($2::bigint is null or j.id < $2) and ($3::text is null or j.status = $3)
      order by j.id desc limit $4`,
    [siteId, query.before ?? null, query.status ?? null, query.limit + 1],
  );
  const jobs = rows.slice(0, query.limit).map(toJob);
  return { jobs, nextBefore: rows.length > query.limit ? jobs.at(-1)!.id : null };
}

/** Deletes finished jobs older than `days`: the table stays bounded. */
export async function pruneFinishedJobs(db: Queryable, days: number): Promise<number> {
  const { rowCount } = await db.query(
    `delete from jobs where status in ('succeeded', 'failed')
        and finished_at < now() - make_interval(days => $1)`,
    [days],
  );
  return rowCount ?? 0;
}
