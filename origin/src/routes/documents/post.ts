import type { Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import type { AppEnv } from '../../app-env.js';
import { AppError } from '../../errors.js';
import { formatFromFileName } from '../../ingest/formats.js';
import { parseWith, readJson } from '../../lib/validate.js';
import type { IngestInput } from '../../services/ingestion.js';
import type { Services } from '../../services.js';
import { getSite } from '../../store/sites.js';
import { acceptedJob, prefersAsync } from '../jobs/json.js';
import { documentJson, HttpUrl, Metadata, SiteName, Title } from '../schemas.js';

export const JsonDocumentBody = z
  .object({
    title: Title,
    content: z.string().min(1, 'must not be empty'),
    format: z.enum(['text', 'markdown', 'html']).default('markdown'),
    url: HttpUrl.optional(),
    metadata: Metadata.optional(),
  })
  .strict();

/** Documents per JSON batch: bounds the work of one request and one transaction. */
export const MAX_BATCH_DOCUMENTS = 100;

export const JsonDocumentBatch = z
  .object({ documents: z.array(JsonDocumentBody).min(1).max(MAX_BATCH_DOCUMENTS) })
  .strict();

/** A form field holding JSON, at most `maxChars` long, parsed then checked by `schema`. */
function jsonField<T extends z.ZodType>(maxChars: number, schema: T) {
  return z
    .string()
    .max(maxChars)
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be a JSON object' });
        return z.NEVER;
      }
    })
    .pipe(schema);
}

/** Optional form fields that describe the uploaded files. */
const UploadFields = z.object({
  title: Title.optional(),
  url: HttpUrl.optional(),
  metadata: jsonField(16_384, Metadata).optional(),
  /** Each file's name as sent (its path relative to the ingested folder) → its page's URL. */
  urls: jsonField(1_048_576, z.record(z.string().max(1000), HttpUrl)).optional(),
});

/**
 * `POST /api/v1/sites/:site/documents`: a JSON document (text, Markdown or HTML), or a multipart
 * upload of `.txt`, `.md`, `.html` and `.pdf` files. Every file of an upload is validated and
 * parsed before any is stored, so a bad file stores nothing.
 */
export function registerCreateDocument(app: Hono<AppEnv>, services: Services): void {
  const limit = services.config.maxUploadBytes;
  app.post(
    '/:site/documents',
    bodyLimit({
      maxSize: limit,
      onError: () => {
        throw new AppError(
          'payload_too_large',
          `uploads are limited to ${Math.round(limit / 1024 / 1024)} MB`,
        );
      },
    }),
    async (c) => {
      const name = parseWith(SiteName, c.req.param('site'), 'site');
      const site = await getSite(services.db.pool, name);
      const { inputs, batch } = isMultipart(c)
        ? { inputs: await readUpload(c, services), batch: true }
        : await readJsonDocuments(c);
      // Large uploads (or a client asking for it) become a job any origin runs.
      if (prefersAsync(c) || isLarge(inputs, services.config.INGEST_ASYNC_KB)) {
        return acceptedJob(c, site.name, await services.jobs.enqueueIngest(site, inputs));
      }
      const prepared = [];
      for (const input of inputs) prepared.push(await services.ingestion.prepare(site, input));
      const results = await services.ingestion.storeAll(site, prepared);
      const status = results.some((result) => result.outcome === 'created') ? 201 : 200;
      const body = results.map((result) => ({
        outcome: result.outcome,
        document: documentJson(result.document),
      }));
      return c.json(batch ? { results: body } : body[0], status);
    },
  );
}

/** Whether an upload is past the size that is queued rather than stored while the client waits. */
function isLarge(inputs: readonly IngestInput[], asyncKb: number): boolean {
  if (asyncKb === 0) return false;
  const bytes = inputs.reduce(
    (sum, { content }) =>
      sum + (typeof content === 'string' ? Buffer.byteLength(content) : content.byteLength),
    0,
  );
  return bytes > asyncKb * 1024;
}

function isMultipart(c: Context): boolean {
  return /^multipart\/form-data\b/i.test(c.req.header('content-type') ?? '');
}

/** One document, or `{ documents: [...] }` for a batch stored all or nothing. */
async function readJsonDocuments(c: Context): Promise<{ inputs: IngestInput[]; batch: boolean }> {
  const body = await readJson(c);
  if (typeof body === 'object' && body !== null && 'documents' in body) {
    const { documents } = parseWith(JsonDocumentBatch, body);
    return { inputs: documents, batch: true };
  }
  return { inputs: [parseWith(JsonDocumentBody, body)], batch: false };
}

async function readUpload(c: Context, services: Services): Promise<IngestInput[]> {
  let form: Record<string, string | File | (string | File)[]>;
  try {
    form = await c.req.parseBody({ all: true });
  } catch {
    throw new AppError('bad_request', 'the multipart body could not be read');
  }
  const files = [form.file, form.files]
    .flat()
    .filter(
      (value): value is File =>
        typeof value === 'object' && value !== null && 'arrayBuffer' in value,
    );
  if (files.length === 0) {
    throw new AppError(
      'validation_failed',
      'file: attach at least one file in a form field named "file"',
    );
  }
  if (files.length > services.config.MAX_FILES_PER_UPLOAD) {
    throw new AppError(
      'validation_failed',
      `file: at most ${services.config.MAX_FILES_PER_UPLOAD} files per upload`,
    );
  }
  const fields = parseWith(
    UploadFields,
    {
      title: single(form.title),
      url: single(form.url),
      metadata: single(form.metadata),
      urls: single(form.urls),
    },
    'form',
  );
  if (files.length > 1 && (fields.title !== undefined || fields.url !== undefined)) {
    throw new AppError(
      'validation_failed',
      'title: title and url describe one file; send them with a single file',
    );
  }
  const inputs: IngestInput[] = [];
  for (const file of files) {
    const fileName = safeFileName(file.name);
    inputs.push({
      format: formatFromFileName(fileName),
      content: new Uint8Array(await file.arrayBuffer()),
      fileName,
      path: safeRelativePath(file.name),
      title: fields.title,
      url: fields.url ?? fields.urls?.[file.name],
      metadata: fields.metadata,
    });
  }
  return inputs;
}

/**
 * The path a client sent as a file's name (the CLI sends it relative to the ingested folder),
 * cleaned into a document identity: `/` and `\\` separate segments; empty, `.` and `..` segments and
 * drive letters are dropped, so it never climbs or starts at a root. It names the document and
 * is never used as a file path. Two files of one name in two folders stay two documents.
 */
export function safeRelativePath(name: string): string {
  const segments = name
    // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
    .replace(/[\u0000-\u001f\u007f]/g, '')
    .split(/[\\/]+/)
    .map((segment) => segment.trim())
    .filter((segment, i) => !/^\.*$/.test(segment) && !(i === 0 && /^[A-Za-z]:$/.test(segment)));
  const path = segments.join('/');
  if (path === '') return safeFileName(name);
  if (path.length > 1000)
    throw new AppError('validation_failed', 'file: the file path is longer than 1000 characters');
  return path;
}

function single(value: string | File | (string | File)[] | undefined): string | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  return typeof first === 'string' ? first : undefined;
}

/** The last path segment of a client's file name, without control characters: never a path. */
export function safeFileName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
  const clean = base.replace(/[\u0000-\u001f\u007f]/g, '').trim();
  if (clean === '' || clean === '.' || clean === '..') {
    throw new AppError('validation_failed', 'file: the file has no usable name');
  }
  if (clean.length > 255)
    throw new AppError('validation_failed', 'file: the file name is longer than 255 characters');
  return clean;
}
