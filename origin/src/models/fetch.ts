/**
 * Downloads a model from a Hugging Face hub into the on-disk layout that
 * `TransformersEmbedder` reads. Each file is resumable and verified (see `download.ts`): only a
 * complete, checked file gets its real name, and a rerun fetches only what is missing, continuing
 * a file where an interrupted run stopped.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { downloadFile, probeFile } from './download.js';
import { type ModelDtype, modelDir, modelFiles } from './layout.js';

/** What happened to one file; `loaded`/`total` are bytes (`total` when the server sends a length). */
export interface FetchProgress {
  modelId: string;
  file: string;
  status: 'skipped' | 'downloading' | 'done' | 'missing';
  loaded: number;
  total?: number;
  /** On `done`: the file matched the SHA-256 the hub stated (sizes are always checked). */
  sha256Verified?: boolean;
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

/** Where a file of the model comes from and goes to. */
function fileUrl(options: FetchModelOptions, file: string): string {
  const hubUrl = (options.hubUrl ?? 'https://huggingface.co').replace(/\/+$/, '');
  const revision = encodeURIComponent(options.revision ?? 'main');
  return `${hubUrl}/${options.modelId}/resolve/${revision}/${file}`;
}

async function presentSize(target: string): Promise<number | undefined> {
  const existing = await stat(target).catch(() => undefined);
  return existing?.isFile() && existing.size > 0 ? existing.size : undefined;
}

/**
 * Bytes still to download for the model (files not on disk, as the hub sizes them), so that a
 * person can be told before agreeing to it. Asks the hub with HEAD requests only.
 */
export async function bytesToFetch(options: FetchModelOptions): Promise<number> {
  const dir = modelDir(options.modelsDir, options.modelId);
  let bytes = 0;
  for (const { path: file } of modelFiles(options.dtype ?? 'q8')) {
    if ((await presentSize(join(dir, file))) !== undefined) continue;
    const remote = await probeFile(fileUrl(options, file), {
      fetchImpl: options.fetchImpl ?? fetch,
      timeoutMs: options.timeoutMs ?? 60_000,
    });
    if (remote !== 'missing') bytes += remote.size ?? 0;
  }
  return bytes;
}

/** Fetches the files `modelFiles(dtype)` lists that are not already on disk. */
export async function fetchModel(options: FetchModelOptions): Promise<FetchModelResult> {
  const { modelId, onProgress } = options;
  const dir = modelDir(options.modelsDir, modelId);
  const result: FetchModelResult = { downloaded: [], skipped: [], missing: [] };

  for (const { path: file, optional } of modelFiles(options.dtype ?? 'q8')) {
    const target = join(dir, file);
    const existing = await presentSize(target);
    if (existing !== undefined) {
      result.skipped.push(file);
      onProgress?.({
        modelId,
        file,
        status: 'skipped',
        loaded: existing,
        total: existing,
      });
      continue;
    }
    const url = fileUrl(options, file);
    const outcome = await downloadFile(url, target, {
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
    if (outcome === 'missing' && !optional) {
      throw new Error(`Could not download ${modelId}/${file} from ${url}: HTTP 404 Not Found`);
    }
    if (outcome === 'missing') {
      result.missing.push(file);
      onProgress?.({ modelId, file, status: 'missing', loaded: 0 });
    } else {
      result.downloaded.push(file);
      onProgress?.({
        modelId,
        file,
        status: 'done',
        loaded: outcome.bytes,
        total: outcome.bytes,
        sha256Verified: outcome.sha256 !== undefined,
      });
    }
  }
  return result;
}

/** An error's message, with its cause's (undici says only `terminated` for a dropped socket). */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
  return `${error.message}${cause}`;
}
