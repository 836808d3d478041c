import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';

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

  /** Uploads files in one multipart request: the origin stores all of them or none. */
  async uploadFiles<T>(site: string, paths: readonly string[]): Promise<T> {
    const form = new FormData();
    for (const path of paths) form.append('file', new Blob([await readFile(path)]), basename(path));
    return this.request<T>('POST', `/api/v1/sites/${encodeURIComponent(site)}/documents`, form);
  }
}
