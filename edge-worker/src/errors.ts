import type { ErrorBody, ErrorCode } from '../../contract/errors.js';

/** A JSON error response in the one shape (the contract's `ErrorBody`, as the origin sends it). */
export function errorResponse(
  status: number,
  code: ErrorCode,
  message: string,
  requestId: string,
  headers: Record<string, string> = {},
): Response {
  const body: ErrorBody = { error: { code, message, requestId } };
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      'Content-Type': 'application/json; charset=utf-8',
      'Cache-Control': 'no-store',
      ...headers,
    },
  });
}
