/**
 * Downloads a model from a Hugging Face hub into the on-disk layout that
 * `TransformersEmbedder` reads. Every file is streamed to a temporary name beside its target and
 * renamed when complete, so an interrupted run never leaves a partial file behind, and a rerun
 * only fetches what is missing.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { type ModelDtype, modelDir, modelFiles } from './layout.js';

/** What happened to one file; `loaded`/`total` are bytes (`total` when the server sends a length). */
export interface FetchProgress {
  modelId: string;
  file: string;
  status: 'skipped' | 'downloading' | 'done' | 'missing';
  loaded: number;
  total?: number;
}

export interface FetchModelOptions {
  /** Hub id, `owner/name`. */
  modelId: string;
  /** Files land in `<modelsDir>/<modelId>/`. */
  modelsDir: string;
  /** Default `https://huggingface.co`. */
  hubUrl?: string;
  /** Branch, tag or commit. Default `main`. */
  revision?: string;
  /** Which ONNX weights to fetch. Default `q8` (`onnx/model_quantized.onnx`). */
  dtype?: ModelDtype;
  fetchImpl?: typeof fetch;
  /** A file is abandoned when no byte arrives for this long. Default 60 s. */
  timeoutMs?: number;
  onProgress?: (progress: FetchProgress) => void;
}

export interface FetchModelResult {
  downloaded: string[];
  skipped: string[];
  /** Optional files the hub does not have. */
  missing: string[];
}

/** Fetches the files `modelFiles(dtype)` lists that are not already on disk. */
export async function fetchModel(options: FetchModelOptions): Promise<FetchModelResult> {
  const { modelId, onProgress } = options;
  const dir = modelDir(options.modelsDir, modelId);
  const hubUrl = (options.hubUrl ?? 'https://huggingface.co').replace(/\/+$/, '');
  const revision = encodeURIComponent(options.revision ?? 'main');
  const result: FetchModelResult = { downloaded: [], skipped: [], missing: [] };

  for (const { path: file, optional } of modelFiles(options.dtype ?? 'q8')) {
    const target = join(dir, file);
    const existing = await stat(target).catch(() => undefined);
    if (existing?.isFile() && existing.size > 0) {
      result.skipped.push(file);
      onProgress?.({
        modelId,
        file,
        status: 'skipped',
        loaded: existing.size,
        total: existing.size,
      });
      continue;
    }
    const url = `${hubUrl}/${modelId}/resolve/${revision}/${file}`;
    const outcome = await downloadFile(url, target, {
      optional,
      fetchImpl: options.fetchImpl ?? fetch,
      timeoutMs: options.timeoutMs ?? 60_000,
      onBytes: (loaded, total) =>
        onProgress?.({
          modelId,
          file,
          status: 'downloading',
          loaded,
          ...(total === undefined ? {} : { total }),
        }),
    }).catch((error: unknown) => {
      throw new Error(`Could not download ${modelId}/${file} from ${url}: ${describe(error)}`, {
        cause: error,
      });
    });
    if (outcome === 'missing') {
      result.missing.push(file);
      onProgress?.({ modelId, file, status: 'missing', loaded: 0 });
    } else {
      result.downloaded.push(file);
      onProgress?.({ modelId, file, status: 'done', loaded: outcome.bytes, total: outcome.bytes });
    }
  }
  return result;
}

interface DownloadOptions {
  optional: boolean;
  fetchImpl: typeof fetch;
  timeoutMs: number;
  onBytes: (loaded: number, total: number | undefined) => void;
}

/** Streams `url` into `target` through a temporary file; a 404 on an optional file is `missing`. */
async function downloadFile(
  url: string,
  target: string,
  options: DownloadOptions,
): Promise<{ bytes: number } | 'missing'> {
  const controller = new AbortController();
  const stall = () => controller.abort(new Error(`no data for ${options.timeoutMs} ms`));
  let timer = setTimeout(stall, options.timeoutMs);
  const temporary = `${target}.${randomUUID()}.part`;
  try {
    const response = await options.fetchImpl(url, {
      signal: controller.signal,
      redirect: 'follow',
    });
    if (response.status === 404 && options.optional) {
      await response.body?.cancel();
      return 'missing';
    }
    if (!response.ok || response.body === null) {
      await response.body?.cancel();
      throw new Error(`HTTP ${response.status} ${response.statusText}`.trim());
    }
    const total = expectedLength(response);
    let loaded = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        loaded += chunk.length;
        clearTimeout(timer);
        timer = setTimeout(stall, options.timeoutMs);
        options.onBytes(loaded, total);
        callback(null, chunk);
      },
    });
    await mkdir(dirname(target), { recursive: true });
    await pipeline(
      Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>, {
        signal: controller.signal,
      }),
      counter,
      createWriteStream(temporary),
    );
    if (total !== undefined && loaded !== total) {
      throw new Error(`connection closed after ${loaded} of ${total} bytes`);
    }
    await rename(temporary, target);
    return { bytes: loaded };
  } catch (error) {
    await rm(temporary, { force: true });
    throw controller.signal.aborted ? controller.signal.reason : error;
  } finally {
    clearTimeout(timer);
  }
}

/** The body length, when the server states it for the bytes we will read (not compressed). */
function expectedLength(response: Response): number | undefined {
  const encoding = response.headers.get('content-encoding');
  if (encoding !== null && encoding !== 'identity') return undefined;
  const length = Number(response.headers.get('content-length') ?? Number.NaN);
  return Number.isSafeInteger(length) && length >= 0 ? length : undefined;
}

/** An error's message, with its cause's (undici says only `terminated` for a dropped socket). */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
  return `${error.message}${cause}`;
}
