import type { z } from 'zod';
import {
  ErrorBody,
  FeedbackResponse,
  HealthResponse,
  READER_ROUTE,
  ReaderConfigResponse,
  SearchResponse,
} from '../../contract/index.js';

/** The contract's body of a successful reader response, by the route's last segment. */
const READER_BODIES: Record<string, z.ZodType> = {
  search: SearchResponse,
  config: ReaderConfigResponse,
  feedback: FeedbackResponse,
};

/**
 * Checks a response of the origin against the contract, without consuming it: every JSON error
 * must be the one error shape, and a reader route's JSON answer its response body. Throws,
 * naming the request and the first problem, otherwise. Event streams are checked as they are
 * read (`readSse`).
 */
export async function checkContract(
  method: string,
  path: string,
  response: Response,
): Promise<void> {
  if (!(response.headers.get('content-type') ?? '').startsWith('application/json')) return;
  const pathname = new URL(path, 'http://origin.test').pathname;
  const route = READER_ROUTE.exec(pathname);
  const schema =
    pathname === '/api/v1/health'
      ? HealthResponse
      : response.status >= 400
        ? ErrorBody
        : route !== null && response.status === 200
          ? READER_BODIES[route[2]!.split('/').at(-1)!]
          : undefined;
  if (schema === undefined) return;
  const body: unknown = await response.clone().json();
  const parsed = schema.safeParse(body);
  if (parsed.success) return;
  const issue = parsed.error.issues[0]!;
  throw new Error(
    `${method} ${path} (${response.status}) breaks the contract at ${issue.path.join('.') || '(root)'}: ${issue.message}`,
  );
}
