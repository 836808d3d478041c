/**
 * Embeddings from a local ONNX sentence-transformer, run by `@huggingface/transformers` on the
 * CPU. Models are read from disk only (see `npm run models:fetch`); nothing is downloaded here.
 */

import { resolve } from 'node:path';
import { env, type FeatureExtractionPipeline, pipeline } from '@huggingface/transformers';
import { type ModelDtype, modelDir, modelFilesPresent } from '../models/layout.js';
import type { Embedder } from './types.js';

export type { ModelDtype } from '../models/layout.js';

export interface TransformersEmbedderOptions {
  /** Hugging Face id, e.g. `Xenova/paraphrase-multilingual-MiniLM-L12-v2`. */
  modelId: string;
  /** Folder holding `<modelId>/config.json`, `tokenizer.json` and `onnx/…`. */
  modelsDir: string;
  /** Texts per `embed` call. Default 16. */
  maxBatchSize?: number;
  /** Which ONNX weights to load: `q8` reads `onnx/model_quantized.onnx`, `fp32` `onnx/model.onnx`. Default `q8`. */
  dtype?: ModelDtype;
}

/** Token limit used when neither the tokenizer nor the config states one. */
const FALLBACK_MAX_TOKENS = 512;
/**
 * Texts are cut to this many characters per token of the limit before tokenizing, so that a
 * huge input costs bounded CPU; the tokenizer then truncates to the exact token limit. Only a
 * text averaging more characters per token than this (long runs of spaces) loses content.
 */
const CHARS_PER_TOKEN_CAP = 64;

/** One loaded pipeline, shared by every embedder of the same model in this process. */
interface SharedPipeline {
  readonly extractor: FeatureExtractionPipeline;
  readonly dimension: number;
  readonly maxChars: number;
  users: number;
  disposed: boolean;
  /** Calls run one at a time: ONNX Runtime already uses every core for one batch. */
  queue: Promise<unknown>;
}

const pipelines = new Map<string, Promise<SharedPipeline>>();
let pipelinesCreated = 0;

/** How many pipelines this process has created; tests use it to check that loads are shared. */
export function pipelineLoadCount(): number {
  return pipelinesCreated;
}

/** True when the files `TransformersEmbedder.load` needs for `dtype` (default `q8`) are on disk. */
export function modelIsPresent(
  modelsDir: string,
  modelId: string,
  dtype: ModelDtype = 'q8',
): boolean {
  return modelFilesPresent(modelsDir, modelId, dtype);
}

export class TransformersEmbedder implements Embedder {
  readonly id: string;
  readonly dimension: number;
  readonly maxBatchSize: number;
  readonly #key: string;
  readonly #shared: SharedPipeline;
  #closed = false;

  private constructor(key: string, modelId: string, shared: SharedPipeline, maxBatchSize: number) {
    this.id = `transformers:${modelId}`;
    this.dimension = shared.dimension;
    this.maxBatchSize = maxBatchSize;
    this.#key = key;
    this.#shared = shared;
  }

  /**
   * Loads the model from `modelsDir`, or joins the pipeline another `load` of the same model
   * already started. Throws if the model files are missing.
   */
  static async load(options: TransformersEmbedderOptions): Promise<TransformersEmbedder> {
    const dtype = options.dtype ?? 'q8';
    const maxBatchSize = options.maxBatchSize ?? 16;
    if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1) {
      throw new RangeError(`maxBatchSize must be a positive integer, got ${maxBatchSize}`);
    }
    const modelsDir = resolve(options.modelsDir);
    const key = `${modelsDir}\0${options.modelId}\0${dtype}`;
    for (;;) {
      let pending = pipelines.get(key);
      if (pending === undefined) {
        pending = createPipeline(modelsDir, options.modelId, dtype);
        pipelines.set(key, pending);
        pending.catch(() => {
          if (pipelines.get(key) === pending) pipelines.delete(key);
        });
      }
      const shared = await pending;
      // The last user may have closed it while this load was waiting: start a fresh one.
      if (shared.disposed) continue;
      shared.users += 1;
      return new TransformersEmbedder(key, options.modelId, shared, maxBatchSize);
    }
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    if (this.#closed) throw new Error(`${this.id}: embed() after close()`);
    if (texts.length > this.maxBatchSize) {
      throw new RangeError(
        `${this.id}: batch of ${texts.length} exceeds maxBatchSize ${this.maxBatchSize}`,
      );
    }
    if (texts.length === 0) return [];
    const shared = this.#shared;
    const inputs = texts.map((text) => text.slice(0, shared.maxChars));
    const task = () => runPipeline(shared, inputs);
    const result = shared.queue.then(task);
    shared.queue = result.catch(() => undefined);
    return result;
  }

  /** Releases this embedder; the pipeline is disposed when its last user closes. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const shared = this.#shared;
    shared.users -= 1;
    if (shared.users > 0) return;
    shared.disposed = true;
    pipelines.delete(this.#key);
    await shared.queue;
    await shared.extractor.dispose();
  }
}

async function runPipeline(shared: SharedPipeline, texts: string[]): Promise<Float32Array[]> {
  const output = await shared.extractor(texts, { pooling: 'mean', normalize: true });
  const data = output.data;
  if (!(data instanceof Float32Array)) {
    throw new Error(`feature-extraction returned ${output.type}, expected float32`);
  }
  const dim = shared.dimension;
  const rows = texts.map((_, i) => data.slice(i * dim, (i + 1) * dim));
  output.dispose();
  return rows;
}

async function createPipeline(
  modelsDir: string,
  modelId: string,
  dtype: ModelDtype,
): Promise<SharedPipeline> {
  if (!modelFilesPresent(modelsDir, modelId, dtype)) {
    throw new Error(
      `Model ${modelId} (${dtype}) is not in ${modelDir(modelsDir, modelId)}: run \`npm run models:fetch\``,
    );
  }
  env.localModelPath = modelsDir;
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  pipelinesCreated += 1;
  const extractor = await pipeline('feature-extraction', modelId, {
    dtype,
    local_files_only: true,
    // transformers.js consults its file cache before `localModelPath`; pointing the cache at the
    // models folder keeps a stale default cache from shadowing these files and pins this load
    // to `modelsDir` even if another load changes the global `env` meanwhile.
    cache_dir: modelsDir,
  });
  let dimension: number | undefined;
  try {
    const warmUp = await extractor(['warm up'], { pooling: 'mean', normalize: true });
    dimension = warmUp.dims.at(-1);
    warmUp.dispose();
    if (dimension === undefined || dimension < 1) throw new Error('no embedding dimension');
  } catch (error) {
    await extractor.dispose();
    throw new Error(`Model ${modelId} failed its warm-up embed`, { cause: error });
  }
  const maxTokens = clampTokenLimit(extractor);
  return {
    extractor,
    dimension,
    maxChars: maxTokens * CHARS_PER_TOKEN_CAP,
    users: 0,
    disposed: false,
    queue: Promise.resolve(),
  };
}

/**
 * The pipeline always tokenizes with `truncation: true` to `tokenizer.model_max_length` (from
 * `tokenizer_config.json`) and takes no `max_length` option. Some exports leave that value out
 * or set it to a huge sentinel, so it is capped here by the model's position embeddings.
 */
function clampTokenLimit(extractor: FeatureExtractionPipeline): number {
  const config = extractor.model.config as unknown as Record<string, unknown>;
  const candidates = [extractor.tokenizer.model_max_length, config.max_position_embeddings].filter(
    (value): value is number => typeof value === 'number' && Number.isFinite(value) && value > 0,
  );
  const limit = candidates.length > 0 ? Math.min(...candidates) : FALLBACK_MAX_TOKENS;
  extractor.tokenizer.model_max_length = limit;
  return limit;
}
