import { z } from 'zod';

/**
 * Every error code a client can receive, from the origin or the edge. What each means for the
 * HTTP status is the sender's business (the origin's `STATUS_BY_CODE`); the set is shared.
 */
export const ErrorCode = z.enum([
  'bad_request',
  'validation_failed',
  'invalid_encoding',
  'unauthorized',
  'forbidden',
  'not_found',
  'conflict',
  'embedder_mismatch',
  'payload_too_large',
  'unsupported_media_type',
  'unprocessable_document',
  'rate_limited',
  'internal',
  'unavailable',
  'overloaded',
  'database_unavailable',
  /** The edge: the deploy script has put the product in maintenance. */
  'maintenance',
  /** The edge: no origin answered in time, or one failed as a gateway. */
  'origin_unavailable',
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

/** The one error shape of every JSON error response, origin and edge alike. */
export const ErrorBody = z
  .object({
    error: z
      .object({ code: ErrorCode, message: z.string(), requestId: z.string().min(1) })
      .strict(),
  })
  .strict();
export type ErrorBody = z.infer<typeof ErrorBody>;

/** The body of an error response. */
export function errorBody(code: ErrorCode, message: string, requestId: string): ErrorBody {
  return { error: { code, message, requestId } };
}
