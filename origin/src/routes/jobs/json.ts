import type { Context } from 'hono';
import type { JobRecord } from '../../store/jobs.js';

/** A job as the API shows it. */
export function jobJson(job: JobRecord) {
  return {
    id: job.id,
    kind: job.kind,
    status: job.status,
    attempts: job.attempts,
    maxAttempts: job.maxAttempts,
    claimedBy: job.claimedBy,
    progress: job.progress,
    result: job.result,
    error: job.error,
    createdAt: job.createdAt.toISOString(),
    startedAt: job.startedAt?.toISOString() ?? null,
    finishedAt: job.finishedAt?.toISOString() ?? null,
  };
}

/** `Prefer: respond-async` (RFC 7240): the client asks for a job instead of waiting. */
export function prefersAsync(c: Context): boolean {
  return /(^|[,;\s])respond-async([,;\s]|$)/i.test(c.req.header('prefer') ?? '');
}

/** 202 Accepted with the queued job, and where to follow it. */
export function acceptedJob(c: Context, siteName: string, job: JobRecord): Response {
  const location = `/api/v1/sites/${encodeURIComponent(siteName)}/jobs/${job.id}`;
  c.header('Location', location);
  return c.json({ job: jobJson(job) }, 202);
}
