import type { ErrorBody } from '../../../contract/errors.js';

/** An API failure with the origin's message, shown to the operator as it is. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Told when a request finds the session gone (expired or signed out elsewhere). */
let onSignedOut: () => void = () => {};
export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler;
}

/**
 * A request to the origin with the session cookie (same origin only) and the console header,
 * which the origin requires of every cookie-borne change: another site's page cannot send it.
 */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { 'X-Ragedge-Console': '1' };
  let payload: BodyInit | undefined;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const response = await fetch(path, {
    method,
    headers,
    body: payload,
    credentials: 'same-origin',
    cache: 'no-store',
  });
  if (response.status === 204) return undefined as T;
  const parsed = (await response.json().catch(() => ({}))) as T & Partial<ErrorBody>;
  if (!response.ok) {
    if (response.status === 401 && path !== '/admin/session') onSignedOut();
    throw new ApiError(
      response.status,
      parsed.error?.code ?? 'unknown',
      parsed.error?.message ?? `HTTP ${response.status}`,
    );
  }
  return parsed;
}

/** `/api/v1/sites/<site><rest>` with the site name escaped. */
export function sitePath(site: string, rest = ''): string {
  return `/api/v1/sites/${encodeURIComponent(site)}${rest}`;
}

export interface SiteJson {
  name: string;
  title: string;
  publicKey: string;
  allowedOrigins: string[];
  settings: {
    handoffUrl?: string;
    webhookUrl?: string;
    lang?: string;
    suggestions?: string[];
  };
  documentCount?: number;
  chunkCount?: number;
}
