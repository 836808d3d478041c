import type { Context, ErrorHandler } from 'hono';
import type { AppEnv } from '../app-env.js';
import { type ErrorCode, errorBody, STATUS_BY_CODE, toAppError } from '../errors.js';
import type { Logger } from '../logger.js';

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
