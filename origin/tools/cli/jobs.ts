import { ApiError } from './api-error.js';

/** The part of `ApiClient` these commands use (kept apart so the client can import this file). */
interface ApiClient {
  request<T>(method: string, path: string): Promise<T>;
}

/** A job as the API shows it (the fields the CLI prints). */
export interface JobView {
  id: number;
  kind: string;
  status: 'queued' | 'running' | 'succeeded' | 'failed';
  attempts: number;
  maxAttempts: number;
  claimedBy: string | null;
  progress: Record<string, unknown> | null;
  result: Record<string, unknown> | null;
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
}

const jobsPath = (site: string) => `/api/v1/sites/${encodeURIComponent(site)}/jobs`;
const out = (line: string) => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Whether an answer is a queued job (202) rather than the work's result. */
export function isJobAnswer(answer: unknown): answer is { job: JobView } {
  return typeof answer === 'object' && answer !== null && 'job' in answer;
}

/**
 * Follows a queued job until it finishes (bounded by `timeoutMs`); returns its result, or throws
 * its error as the origin would have answered it.
 */
export async function waitForJob(
  api: ApiClient,
  site: string,
  id: number,
  timeoutMs = 3_600_000,
): Promise<Record<string, unknown>> {
  const until = Date.now() + timeoutMs;
  let delay = 200;
  while (Date.now() < until) {
    const { job } = await api.request<{ job: JobView }>('GET', `${jobsPath(site)}/${id}`);
    if (job.status === 'succeeded') return job.result ?? {};
    if (job.status === 'failed') throw new ApiError(422, 'job_failed', job.error ?? 'job failed');
    await sleep(delay);
    delay = Math.min(delay * 2, 2_000);
  }
  throw new ApiError(0, 'timeout', `job ${id} did not finish in ${timeoutMs / 1000} s`);
}

function describe(job: JobView): string {
  const progress =
    job.progress === null
      ? ''
      : ` ${Object.entries(job.progress)
          .map(([key, value]) => `${key}=${String(value)}`)
          .join(' ')}`;
  const error = job.error === null ? '' : `  error: ${job.error}`;
  const by = job.claimedBy === null ? '' : ` on ${job.claimedBy}`;
  return `#${job.id}  ${job.kind.padEnd(7)}  ${job.status.padEnd(9)}  attempt ${job.attempts}/${job.maxAttempts}${by}${progress}  ${job.createdAt}${error}`;
}

/** `jobs <site> [--status S] [--limit N]`: the site's jobs, newest first. */
export async function jobsCommand(
  api: ApiClient,
  site: string,
  options: { status?: string | undefined; limit?: string | undefined },
): Promise<number> {
  const query = new URLSearchParams();
  if (options.status !== undefined) query.set('status', options.status);
  if (options.limit !== undefined) query.set('limit', options.limit);
  const { jobs } = await api.request<{ jobs: JobView[] }>('GET', `${jobsPath(site)}?${query}`);
  if (jobs.length === 0) out(`no jobs for ${site}`);
  for (const job of jobs) out(describe(job));
  return 0;
}

/** `job <site> <id> [--wait]`: one job, or its outcome once it has finished. */
export async function jobCommand(
  api: ApiClient,
  site: string,
  id: string,
  wait: boolean,
): Promise<number> {
  if (wait) await waitForJob(api, site, Number(id)).catch(() => undefined);
  const { job } = await api.request<{ job: JobView }>(
    'GET',
    `${jobsPath(site)}/${encodeURIComponent(id)}`,
  );
  out(describe(job));
  if (job.result !== null) out(JSON.stringify(job.result, null, 2));
  return job.status === 'failed' ? 1 : 0;
}
