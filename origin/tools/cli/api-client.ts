import { readFile } from 'node:fs/promises';

/** The error shape every origin error response carries. */
interface ErrorResponse {
  error?: { code?: string; message?: string; requestId?: string };
}

/** An error answered by the origin, with its code and message. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

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
    return this.request<T>('POST', `/api/v1/sites/${encodeURIComponent(site)}/documents`, form);
  }
}

/** A file to upload: where it is on disk, the name it is stored under, its page's URL. */
export interface UploadFile {
  path: string;
  name: string;
  url?: string | undefined;
}
