import { readFile } from 'node:fs/promises';
import { ApiError, type ErrorResponse } from './api-error.js';
import { isJobAnswer, waitForJob } from './jobs.js';

export { ApiError } from './api-error.js';

/** A small client for the origin's admin API, used by the CLI. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly adminToken: string,
    private readonly timeoutMs = 600_000,
  ) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const init: RequestInit = { method, headers: { authorization: `Bearer ${this.adminToken}` } };
    if (body instanceof FormData) init.body = body;
    else if (body !== undefined) {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] = 'application/json';
    }
    let response: Response;
    try {
      response = await fetch(new URL(path, this.baseUrl), {
        ...init,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new ApiError(
        0,
        'unreachable',
        `cannot reach the origin at ${this.baseUrl} (${(error as Error).message}); is it running?`,
      );
    }
    const text = await response.text();
    const parsed = text === '' ? undefined : (JSON.parse(text) as unknown);
    if (!response.ok) {
      const error = (parsed as ErrorResponse | undefined)?.error;
      throw new ApiError(
        response.status,
        error?.code ?? 'unknown',
        error?.message ?? `HTTP ${response.status}`,
      );
    }
    return parsed as T;
  }

  /**
   * Uploads files in one multipart request: the origin stores all of them or none. Each is sent
   * under its `name` (its path relative to the ingested folder: the document's identity), with
   * its page's public `url` when known.
   */
  async uploadFiles<T>(site: string, files: readonly UploadFile[]): Promise<T> {
    const form = new FormData();
    const urls: Record<string, string> = {};
    for (const file of files) {
      form.append('file', new Blob([await readFile(file.path)]), file.name);
      if (file.url !== undefined) urls[file.name] = file.url;
    }
    if (Object.keys(urls).length > 0) form.append('urls', JSON.stringify(urls));
    const answer = await this.request<unknown>(
      'POST',
      `/api/v1/sites/${encodeURIComponent(site)}/documents`,
      form,
    );
    // A large upload is queued (202): its job's result has the same shape as a direct answer.
    return (isJobAnswer(answer) ? await waitForJob(this, site, answer.job.id) : answer) as T;
  }
}

/** A file to upload: where it is on disk, the name it is stored under, its page's URL. */
export interface UploadFile {
  path: string;
  name: string;
  url?: string | undefined;
}
