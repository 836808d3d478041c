import type { Context } from 'hono';
import type { z } from 'zod';
import { AppError } from '../errors.js';

/** Parses `value` with `schema`; a failure is a 400 that names the field. */
export function parseWith<S extends z.ZodType>(
  schema: S,
  value: unknown,
  where = 'body',
): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.length > 0 ? issue.path.join('.') : where;
  throw new AppError('validation_failed', `${field}: ${issue.message}`);
}

/** Reads a JSON body; a missing, malformed or non-JSON body is a clear 4xx. */
export async function readJson(c: Context): Promise<unknown> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/json\b/i.test(type)) {
    throw new AppError(
      'unsupported_media_type',
      'send the body as JSON with Content-Type: application/json',
    );
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(await c.req.arrayBuffer());
  } catch {
    throw new AppError('invalid_encoding', 'the request body is not valid UTF-8');
  }
  if (text.trim() === '')
    throw new AppError('bad_request', 'the request body is empty; send a JSON object');
  try {
    return JSON.parse(text);
  } catch {
    throw new AppError('bad_request', 'the request body is not valid JSON');
  }
}
