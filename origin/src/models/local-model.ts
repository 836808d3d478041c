/**
 * What the embedder and the cross-encoder share about loading a `@huggingface/transformers`
 * model from the local models folder: their common options, one pool of shared models per kind
 * (which checks the files, sets up the global `env` and counts loads), and the token limit read
 * from a loaded model.
 */
import { resolve } from 'node:path';
import { env, type PreTrainedTokenizer } from '@huggingface/transformers';
import { type ModelDtype, modelDir, modelFilesPresent } from './layout.js';
import { SharedModels } from './shared-model.js';

export interface LocalModelOptions {
  /** Hugging Face id, e.g. `Xenova/paraphrase-multilingual-MiniLM-L12-v2`, `Xenova/ms-marco-MiniLM-L-6-v2`. */
  modelId: string;
  /** Folder holding `<modelId>/config.json`, `tokenizer.json` and `onnx/…`. */
  modelsDir: string;
  /** Which ONNX weights to load: `q8` reads `onnx/model_quantized.onnx`, `fp32` `onnx/model.onnx`. Default `q8`. */
  dtype?: ModelDtype;
  /** Inputs per model call. Default 16. */
  maxBatchSize?: number;
}

/** `LocalModelOptions` with defaults applied, `modelsDir` absolute, and the key to share it by. */
export interface ResolvedLocalModel {
  modelId: string;
  modelsDir: string;
  dtype: ModelDtype;
  maxBatchSize: number;
  /** Models dir, model id and dtype: loads with the same key can share one model. */
  key: string;
}

/** Applies the defaults; throws a `RangeError` if `maxBatchSize` is not a positive integer. */
export function resolveLocalModel(options: LocalModelOptions): ResolvedLocalModel {
  const dtype = options.dtype ?? 'q8';
  const maxBatchSize = options.maxBatchSize ?? 16;
  if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1) {
    throw new RangeError(`maxBatchSize must be a positive integer, got ${maxBatchSize}`);
  }
  const modelsDir = resolve(options.modelsDir);
  const key = `${modelsDir}\0${options.modelId}\0${dtype}`;
  return { modelId: options.modelId, modelsDir, dtype, maxBatchSize, key };
}

/** True when the files a load of `dtype` (default `q8`) needs are on disk. */
export function localModelIsPresent(
  modelsDir: string,
  modelId: string,
  dtype: ModelDtype = 'q8',
): boolean {
  return modelFilesPresent(modelsDir, modelId, dtype);
}

/**
 * The shared models of one kind (the embedder's pipelines, the cross-encoder's models), read
 * from the local models folder: a `SharedModels` pool that also prepares and counts each load.
 */
export class LocalModels<T> extends SharedModels<T> {
  readonly #what: string;
  #loads = 0;

  /** `what` names the kind in errors (`Model`, `Reranker model`); `dispose` frees one model. */
  constructor(what: string, dispose: (value: T) => Promise<unknown>) {
    super(dispose);
    this.#what = what;
  }

  /** How many loads got past `prepareLoad`; tests use it to check that loads are shared. */
  get loadCount(): number {
    return this.#loads;
  }

  /**
   * The first step of a load: throws, naming the fix, if the files for `dtype` are not in
   * `modelsDir`; else points transformers.js at `modelsDir`, local files only, and counts the load.
   */
  prepareLoad(modelsDir: string, modelId: string, dtype: ModelDtype): void {
    if (!modelFilesPresent(modelsDir, modelId, dtype)) {
      throw new Error(
        `${this.#what} ${modelId} (${dtype}) is not in ${modelDir(modelsDir, modelId)}: run \`npm run models:fetch\``,
      );
    }
    env.localModelPath = modelsDir;
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    this.#loads += 1;
  }
}

/** Token limit used when neither the tokenizer nor the config states one. */
const FALLBACK_MAX_TOKENS = 512;

/**
 * The tokenizer's `model_max_length` (from `tokenizer_config.json`), capped by the model's
 * position embeddings: some exports leave it out or set it to a huge sentinel.
 */
export function tokenLimit(tokenizer: PreTrainedTokenizer, modelConfig: unknown): number {
  const config = modelConfig as Record<string, unknown>;
  const candidates = [tokenizer.model_max_length, config.max_position_embeddings].filter(
    (value): value is number => typeof value === 'number' && Number.isFinite(value) && value > 0,
  );
  return candidates.length > 0 ? Math.min(...candidates) : FALLBACK_MAX_TOKENS;
}
