/** The error shape every origin error response carries. */
export interface ErrorResponse {
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
