import type { ModelDtype } from '../models/layout.js';
import { CrossEncoderReranker, rerankerIsPresent } from './cross-encoder.js';
import { LexicalReranker } from './lexical.js';
import type { Reranker } from './types.js';

export type RerankerKind = 'auto' | 'cross-encoder' | 'lexical' | 'none';

export interface SelectRerankerOptions {
  kind: RerankerKind;
  modelId: string;
  modelsDir: string;
  dtype: ModelDtype;
  /** Pairs per cross-encoder forward pass. Default 16. */
  maxBatchSize?: number;
}

/** The reranker that will serve (none when reranking is off), and why, for the log and health route. */
export interface SelectedReranker {
  reranker: Reranker | null;
  reason: string;
}

/**
 * `cross-encoder` needs the model on disk and throws without it; `lexical` needs nothing; `none`
 * turns reranking off; `auto` takes the model when `models:fetch` has put it in `modelsDir`, and
 * no reranker otherwise, or when the model is there but will not load (the reason says so: a
 * reranker only reorders, so serving without it beats not serving). `auto` never picks the
 * lexical reranker: on Cranfield and MEDLINE it lowered nDCG@10 below the fused ranking
 * (BENCHMARKS.md), so it stays available only on request.
 */
export async function selectReranker(options: SelectRerankerOptions): Promise<SelectedReranker> {
  const { kind, modelId, modelsDir, dtype } = options;
  const present = rerankerIsPresent(modelsDir, modelId, dtype);
  const loadModel = () =>
    CrossEncoderReranker.load({
      modelId,
      modelsDir,
      dtype,
      ...(options.maxBatchSize === undefined ? {} : { maxBatchSize: options.maxBatchSize }),
    });

  switch (kind) {
    case 'none':
      return { reranker: null, reason: 'reranking is off' };
    case 'lexical':
      return { reranker: new LexicalReranker(), reason: 'lexical reranker requested' };
    case 'cross-encoder':
      if (!present) {
        throw new Error(
          `The cross-encoder reranker was requested but the model ${modelId} (${dtype}) is not in ${modelsDir}; run \`npm run models:fetch\` first`,
        );
      }
      return {
        reranker: await loadModel(),
        reason: `cross-encoder ${modelId} (${dtype}) requested`,
      };
    case 'auto': {
      if (!present) {
        return {
          reranker: null,
          reason: `model ${modelId} not found in ${modelsDir} (run \`npm run models:fetch\`); reranking is off`,
        };
      }
      try {
        return {
          reranker: await loadModel(),
          reason: `model ${modelId} found in ${modelsDir}, using the cross-encoder`,
        };
      } catch (error) {
        const detail = error instanceof Error ? error.message : String(error);
        return {
          reranker: null,
          reason: `model ${modelId} in ${modelsDir} failed to load (${detail}); reranking is off`,
        };
      }
    }
  }
}
