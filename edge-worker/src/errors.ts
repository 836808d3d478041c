/** The one error shape, the same as the origin's: `{ error: { code, message, requestId } }`. */
export interface ErrorBody {
  error: { code: string; message: string; requestId: string };
}

/** A JSON error response in the one shape. */
export function errorResponse(
  status: number,
  code: string,
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
