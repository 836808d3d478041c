/**
 * Reranking with a local ONNX cross-encoder (e.g. `Xenova/ms-marco-MiniLM-L-6-v2`) run by
 * `@huggingface/transformers` on the CPU. The model reads the query and a passage together and
 * returns one logit: the score, unsquashed, as sentence-transformers' `CrossEncoder.predict`
 * returns it for these models. Models are read from disk only (see `npm run models:fetch`).
 *
 * The `text-classification` pipeline is not used: it takes no `text_pair`, and it softmaxes the
 * logits, which for a single-logit model makes every score 1.
 */
import {
  AutoModelForSequenceClassification,
  AutoTokenizer,
  type PreTrainedModel,
  type PreTrainedTokenizer,
  type Tensor,
} from '@huggingface/transformers';
import type { ModelDtype } from '../models/layout.js';
import {
  type LocalModelOptions,
  LocalModels,
  localModelIsPresent,
  resolveLocalModel,
  tokenLimit,
} from '../models/local-model.js';
import type { SharedModel } from '../models/shared-model.js';
import { type EncodedPair, encodePairs, type PairBatch, toBatch } from './pair-encoding.js';
import type { RerankCandidate, Reranker } from './types.js';

/** Options of `CrossEncoderReranker.load`, e.g. `modelId` `Xenova/ms-marco-MiniLM-L-6-v2`. */
export interface CrossEncoderOptions extends LocalModelOptions {
  /** Pairs per forward pass; longer candidate lists are split. Default 16. */
  maxBatchSize?: number;
}

/**
 * Query and passage are cut to this many characters per token of the limit before tokenizing, so
 * a huge input costs bounded CPU; the pair is then trimmed to the exact token limit.
 */
const CHARS_PER_TOKEN_CAP = 64;

/** One loaded model, shared by every reranker of the same model in this process. */
interface LoadedModel {
  readonly tokenizer: PreTrainedTokenizer;
  readonly model: PreTrainedModel;
  readonly maxTokens: number;
}

const models = new LocalModels<LoadedModel>('Reranker model', (loaded) => loaded.model.dispose());

/** How many models this process has loaded; tests use it to check that loads are shared. */
export function crossEncoderLoadCount(): number {
  return models.loadCount;
}

/** True when the files `CrossEncoderReranker.load` needs for `dtype` (default `q8`) are on disk. */
export const rerankerIsPresent = localModelIsPresent;

export class CrossEncoderReranker implements Reranker {
  readonly id: string;
  readonly maxBatchSize: number;
  readonly #shared: SharedModel<LoadedModel>;

  private constructor(modelId: string, shared: SharedModel<LoadedModel>, maxBatchSize: number) {
    this.id = `cross-encoder:${modelId}`;
    this.maxBatchSize = maxBatchSize;
    this.#shared = shared;
  }

  /**
   * Loads the model from `modelsDir`, or joins the load another call for the same model already
   * started. Throws if the model files are missing or the model does not give one logit per pair.
   */
  static async load(options: CrossEncoderOptions): Promise<CrossEncoderReranker> {
    const { modelId, modelsDir, dtype, maxBatchSize, key } = resolveLocalModel(options);
    const shared = await models.acquire(key, () => loadModel(modelsDir, modelId, dtype));
    return new CrossEncoderReranker(modelId, shared, maxBatchSize);
  }

  async score(query: string, candidates: readonly RerankCandidate[]): Promise<number[]> {
    if (this.#shared.released) throw new Error(`${this.id}: score() after close()`);
    if (candidates.length === 0) return [];
    const texts = candidates.map((candidate) => candidate.text);
    return this.#shared.run((loaded) => scorePairs(loaded, query, texts, this.maxBatchSize));
  }

  /** Releases this reranker; the model is disposed when its last user closes. */
  async close(): Promise<void> {
    await this.#shared.release();
  }
}

/**
 * Tokenizes every pair, then runs them in batches of similar length (sorted by token count, so
 * short passages are not padded to the longest one), and returns the scores in input order.
 */
async function scorePairs(
  loaded: LoadedModel,
  query: string,
  texts: readonly string[],
  maxBatchSize: number,
): Promise<number[]> {
  const maxChars = loaded.maxTokens * CHARS_PER_TOKEN_CAP;
  const pairs = encodePairs(
    loaded.tokenizer,
    query.slice(0, maxChars),
    texts.map((text) => text.slice(0, maxChars)),
    loaded.maxTokens,
  );
  const order = pairs.map((_, i) => i).sort((a, b) => pairLength(pairs, a) - pairLength(pairs, b));
  const scores = new Array<number>(pairs.length);
  for (let start = 0; start < order.length; start += maxBatchSize) {
    const indices = order.slice(start, start + maxBatchSize);
    const batch = toBatch(
      loaded.tokenizer,
      indices.map((i) => pairs[i] as EncodedPair),
    );
    const logits = await runModel(loaded.model, batch);
    for (const [row, i] of indices.entries()) scores[i] = logits[row] as number;
  }
  return scores;
}

function pairLength(pairs: readonly EncodedPair[], index: number): number {
  return pairs[index]?.inputIds.length ?? 0;
}

/** One forward pass; returns the single logit of each row. */
async function runModel(model: PreTrainedModel, batch: PairBatch): Promise<Float32Array> {
  const output = (await model(batch)) as { logits: Tensor };
  const { logits } = output;
  try {
    const [rows, columns] = logits.dims;
    if (logits.dims.length !== 2 || columns !== 1 || rows !== batch.input_ids.dims[0]) {
      throw new Error(
        `expected logits of shape [batch, 1] from a cross-encoder, got [${logits.dims.join(', ')}]`,
      );
    }
    if (!(logits.data instanceof Float32Array)) {
      throw new Error(`expected float32 logits, got ${logits.type}`);
    }
    return logits.data.slice();
  } finally {
    logits.dispose();
  }
}

async function loadModel(
  modelsDir: string,
  modelId: string,
  dtype: ModelDtype,
): Promise<LoadedModel> {
  models.prepareLoad(modelsDir, modelId, dtype);
  // transformers.js consults its file cache before `localModelPath`; pointing the cache at the
  // models folder pins this load to `modelsDir` even if another load changes the global `env`.
  const fromDisk = { local_files_only: true, cache_dir: modelsDir };
  const tokenizer = await AutoTokenizer.from_pretrained(modelId, fromDisk);
  const model = await AutoModelForSequenceClassification.from_pretrained(modelId, {
    ...fromDisk,
    dtype,
  });
  const loaded: LoadedModel = { tokenizer, model, maxTokens: tokenLimit(tokenizer, model.config) };
  try {
    await scorePairs(loaded, 'warm up', ['warm up'], 1);
  } catch (error) {
    await model.dispose();
    throw new Error(`Reranker model ${modelId} failed its warm-up`, { cause: error });
  }
  return loaded;
}
