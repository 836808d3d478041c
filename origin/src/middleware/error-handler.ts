import type { Context, ErrorHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { AppEnv } from '../context.js';
import { AppError, type ErrorCode, errorBody, STATUS_BY_CODE } from '../errors.js';
import type { Logger } from '../logger.js';

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

/**
 * The one error handler: every failure leaves as `{ error: { code, message, requestId } }` with
 * the status of its code. Unknown errors are logged with their stack and answered with a
 * generic 500 that carries no stack, SQL or path.
 */
export function errorHandler(logger: Logger): ErrorHandler<AppEnv> {
  return (error, c) => {
    const known = toAppError(error);
    if (known === null) {
      logger.error({ err: error, requestId: c.get('requestId') }, 'unhandled error');
      return respond(
        c,
        'internal',
        'something went wrong on our side; the request id identifies it in the logs',
      );
    }
    if (known.status >= 500)
      logger.warn({ err: error, requestId: c.get('requestId') }, known.message);
    for (const [name, value] of Object.entries(known.headers)) c.header(name, value);
    return respond(c, known.code, known.message);
  };
}

/** The 404 for paths no route serves. */
export function notFoundHandler(c: Context<AppEnv>): Response {
  return respond(c, 'not_found', `no route for ${c.req.method} ${new URL(c.req.url).pathname}`);
}

function respond(c: Context<AppEnv>, code: ErrorCode, message: string): Response {
  return c.json(errorBody(code, message, c.get('requestId') ?? ''), STATUS_BY_CODE[code]);
}

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
