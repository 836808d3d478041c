/**
 * Embeddings from a local ONNX sentence-transformer, run by `@huggingface/transformers` on the
 * CPU. Models are read from disk only (see `npm run models:fetch`); nothing is downloaded here.
 */

import { type FeatureExtractionPipeline, pipeline } from '@huggingface/transformers';
import type { ModelDtype } from '../models/layout.js';
import {
  type LocalModelOptions,
  LocalModels,
  localModelIsPresent,
  resolveLocalModel,
  tokenLimit,
} from '../models/local-model.js';
import type { SharedModel } from '../models/shared-model.js';
import type { Embedder } from './types.js';

export type { ModelDtype } from '../models/layout.js';

/** Options of `TransformersEmbedder.load`, e.g. `modelId` `Xenova/paraphrase-multilingual-MiniLM-L12-v2`. */
export interface TransformersEmbedderOptions extends LocalModelOptions {
  /** Texts per `embed` call. Default 16. */
  maxBatchSize?: number;
}

/**
 * Texts are cut to this many characters per token of the limit before tokenizing, so that a
 * huge input costs bounded CPU; the tokenizer then truncates to the exact token limit. Only a
 * text averaging more characters per token than this (long runs of spaces) loses content.
 */
const CHARS_PER_TOKEN_CAP = 64;

/** One loaded pipeline, shared by every embedder of the same model in this process. */
interface LoadedPipeline {
  readonly extractor: FeatureExtractionPipeline;
  readonly dimension: number;
  readonly maxChars: number;
}

const pipelines = new LocalModels<LoadedPipeline>('Model', (loaded) => loaded.extractor.dispose());

/** How many pipelines this process has created; tests use it to check that loads are shared. */
export function pipelineLoadCount(): number {
  return pipelines.loadCount;
}

/** True when the files `TransformersEmbedder.load` needs for `dtype` (default `q8`) are on disk. */
export const modelIsPresent = localModelIsPresent;

export class TransformersEmbedder implements Embedder {
  readonly id: string;
  readonly dimension: number;
  readonly maxBatchSize: number;
  readonly #shared: SharedModel<LoadedPipeline>;

  private constructor(modelId: string, shared: SharedModel<LoadedPipeline>, maxBatchSize: number) {
    this.id = `transformers:${modelId}`;
    this.dimension = shared.value.dimension;
    this.maxBatchSize = maxBatchSize;
    this.#shared = shared;
  }

  /**
   * Loads the model from `modelsDir`, or joins the pipeline another `load` of the same model
   * already started. Throws if the model files are missing.
   */
  static async load(options: TransformersEmbedderOptions): Promise<TransformersEmbedder> {
    const { modelId, modelsDir, dtype, maxBatchSize, key } = resolveLocalModel(options);
    const shared = await pipelines.acquire(key, () => createPipeline(modelsDir, modelId, dtype));
    return new TransformersEmbedder(modelId, shared, maxBatchSize);
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    if (this.#shared.released) throw new Error(`${this.id}: embed() after close()`);
    if (texts.length > this.maxBatchSize) {
      throw new RangeError(
        `${this.id}: batch of ${texts.length} exceeds maxBatchSize ${this.maxBatchSize}`,
      );
    }
    if (texts.length === 0) return [];
    const inputs = texts.map((text) => text.slice(0, this.#shared.value.maxChars));
    return this.#shared.run((loaded) => runPipeline(loaded, inputs));
  }

  /** Releases this embedder; the pipeline is disposed when its last user closes. */
  async close(): Promise<void> {
    await this.#shared.release();
  }
}

async function runPipeline(loaded: LoadedPipeline, texts: string[]): Promise<Float32Array[]> {
  const output = await loaded.extractor(texts, { pooling: 'mean', normalize: true });
  const data = output.data;
  if (!(data instanceof Float32Array)) {
    throw new Error(`feature-extraction returned ${output.type}, expected float32`);
  }
  const dim = loaded.dimension;
  const rows = texts.map((_, i) => data.slice(i * dim, (i + 1) * dim));
  output.dispose();
  return rows;
}

async function createPipeline(
  modelsDir: string,
  modelId: string,
  dtype: ModelDtype,
): Promise<LoadedPipeline> {
  pipelines.prepareLoad(modelsDir, modelId, dtype);
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
  return { extractor, dimension, maxChars: maxTokens * CHARS_PER_TOKEN_CAP };
}

/**
 * The pipeline always tokenizes with `truncation: true` to `tokenizer.model_max_length` (from
 * `tokenizer_config.json`) and takes no `max_length` option. Some exports leave that value out
 * or set it to a huge sentinel, so it is capped here by the model's position embeddings.
 */
function clampTokenLimit(extractor: FeatureExtractionPipeline): number {
  const limit = tokenLimit(extractor.tokenizer, extractor.model.config);
  extractor.tokenizer.model_max_length = limit;
  return limit;
}
