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

/**
 * Reads a JSON body; a missing, malformed or non-JSON body is a clear 4xx. With `maxBytes`, a
 * larger body is a 413: refused from its `Content-Length` before any of it is read, or, sent
 * without one (chunked), as soon as the bytes read pass the limit, so it is never held whole.
 */
export async function readJson(c: Context, maxBytes?: number): Promise<unknown> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/json\b/i.test(type)) {
    throw new AppError(
      'unsupported_media_type',
      'send the body as JSON with Content-Type: application/json',
    );
  }
  let text: string;
  try {
    const bytes =
      maxBytes === undefined ? await c.req.arrayBuffer() : await readCapped(c, maxBytes);
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    if (error instanceof AppError) throw error;
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

function tooLarge(maxBytes: number): AppError {
  return new AppError(
    'payload_too_large',
    `the request body is larger than ${maxBytes} bytes; send a shorter message`,
  );
}

/** The body's bytes, refused past `maxBytes` without ever reading more than that. */
async function readCapped(c: Context, maxBytes: number): Promise<Uint8Array> {
  const declared = c.req.header('content-length');
  if (declared !== undefined && !(Number(declared) <= maxBytes)) throw tooLarge(maxBytes);
  const body = c.req.raw.body;
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      // Stops the upload: the rest of the stream is never buffered.
      await reader.cancel().catch(() => {});
      throw tooLarge(maxBytes);
    }
    parts.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}
