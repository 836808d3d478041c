import type { ErrorCode as WireErrorCode } from '../../contract/errors.js';

export { type ErrorBody, errorBody } from '../../contract/errors.js';

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
