import type { Config } from '../config.js';
import { HashEmbedder } from './hash.js';
import { modelIsPresent, TransformersEmbedder } from './transformers.js';
import type { Embedder } from './types.js';

/** The embedder that will serve, and why, in words for the log and the health route. */
export interface SelectedEmbedder {
  embedder: Embedder;
  reason: string;
}

/**
 * `EMBEDDER=transformers` needs the model on disk; `hash` is the offline embedder; `auto` takes
 * the model when `models:fetch` has put it in `MODELS_DIR`, the offline embedder otherwise.
 */
export async function selectEmbedder(
  config: Pick<
    Config,
    | 'EMBEDDER'
    | 'EMBEDDING_MODEL'
    | 'EMBEDDING_DTYPE'
    | 'EMBED_BATCH_SIZE'
    | 'HASH_EMBEDDER_DIM'
    | 'MODELS_DIR'
  >,
): Promise<SelectedEmbedder> {
  const modelId = config.EMBEDDING_MODEL;
  const present = modelIsPresent(config.MODELS_DIR, modelId, config.EMBEDDING_DTYPE);
  const loadModel = () =>
    TransformersEmbedder.load({
      modelId,
      modelsDir: config.MODELS_DIR,
      dtype: config.EMBEDDING_DTYPE,
      maxBatchSize: config.EMBED_BATCH_SIZE,
    });

  switch (config.EMBEDDER) {
    case 'hash':
      return {
        embedder: new HashEmbedder({ dimension: config.HASH_EMBEDDER_DIM }),
        reason: 'EMBEDDER=hash',
      };
    case 'transformers':
      if (!present) {
        throw new Error(
          `EMBEDDER=transformers but the model ${modelId} (${config.EMBEDDING_DTYPE}) is not in ${config.MODELS_DIR}; run \`npm run models:fetch\` first`,
        );
      }
      return { embedder: await loadModel(), reason: `EMBEDDER=transformers, model ${modelId}` };
    case 'auto':
      if (present)
        return {
          embedder: await loadModel(),
          reason: `model ${modelId} found in ${config.MODELS_DIR}`,
        };
      return {
        embedder: new HashEmbedder({ dimension: config.HASH_EMBEDDER_DIM }),
        reason: `model ${modelId} not found in ${config.MODELS_DIR} (run \`npm run models:fetch\` to use it); serving the offline hash embedder`,
      };
  }
}
