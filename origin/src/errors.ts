import type { ErrorCode as WireErrorCode } from '../../contract/errors.js';

export { type ErrorBody, errorBody } from '../../contract/errors.js';

import { HTTPException } from 'hono/http-exception';

/**
 * The one error type of the origin. Every failure a client can see is an `AppError` with a code
 * from `STATUS_BY_CODE`; the `onError` handler in `app.ts` turns it into the one JSON shape,
 * the contract's `ErrorBody`: `{ "error": { "code", "message", "requestId" } }`.
 */
export const STATUS_BY_CODE = {
  bad_request: 400,
  validation_failed: 400,
  invalid_encoding: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  embedder_mismatch: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unprocessable_document: 422,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
  /** A bounded queue or the database pool is full: come back after `Retry-After`. */
  overloaded: 503,
  /** The database cannot be reached right now (down, restarting, connection lost). */
  database_unavailable: 503,
} as const satisfies { [Code in WireErrorCode]?: number };

export type ErrorCode = keyof typeof STATUS_BY_CODE;

/** An error whose message is safe to show to the client. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: (typeof STATUS_BY_CODE)[ErrorCode];
  /** Extra headers the response must carry (e.g. `Retry-After`). */
  readonly headers: Record<string, string>;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = STATUS_BY_CODE[code];
    this.headers = options?.headers ?? {};
  }
}

/** Error codes of node and PostgreSQL that mean "the database cannot be reached right now". */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  // admin_shutdown, crash_shutdown, cannot_connect_now (starting up or shutting down)
  '57P01',
  '57P02',
  '57P03',
  // too_many_connections
  '53300',
  // connection_exception and its subclasses
  '08000',
  '08001',
  '08003',
  '08006',
]);

/** Messages of pg (and its PGlite adapter) when a connection is lost or cannot be made. */
const UNAVAILABLE_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|not queryable|connection error|Client was closed/i;

/** The `AppError` a thrown value stands for (a known error, or a lost database), else null. */
export function toAppError(error: unknown): AppError | null {
  if (error instanceof AppError) return error;
  if (error instanceof HTTPException) {
    if (error.status === 413)
      return new AppError('payload_too_large', 'the request body is larger than allowed');
    if (error.status === 400) return new AppError('bad_request', 'the request could not be read');
    if (error.status === 401) return new AppError('unauthorized', 'authentication is required');
    if (error.status === 403) return new AppError('forbidden', 'this request is not allowed');
    return null;
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (
    (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) ||
    (error instanceof Error && UNAVAILABLE_MESSAGES.test(error.message))
  ) {
    return new AppError('database_unavailable', 'the database is unavailable; try again shortly', {
      cause: error,
      headers: { 'Retry-After': '5' },
    });
  }
  return null;
}
