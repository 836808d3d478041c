import type { Config } from '../config.js';
import { selectEmbedder } from '../embedders/select.js';
import type { Embedder } from '../embedders/types.js';
import { boundedEmbedder, boundedReranker } from '../lib/bounded-models.js';
import type { Logger } from '../logger.js';
import { instrumentEmbedder, instrumentReranker } from '../observability/instrument.js';
import type { Metrics } from '../observability/metrics.js';
import { selectReranker } from '../rerankers/select.js';
import type { Reranker } from '../rerankers/types.js';

/** An embedder or reranker as the services use it, and the model behind it (closed at exit). */
interface Model<T> {
  /** Instrumented and bounded (a full queue is refused). */
  serving: T;
  /** Why this one serves, for the start banner. */
  reason: string;
  close(): Promise<void>;
}

/** The configuration the embedder takes. */
export type EmbedderConfig = Parameters<typeof selectEmbedder>[0] &
  Pick<Config, 'EMBED_CONCURRENCY' | 'EMBED_QUEUE_MAX'>;

/**
 * The embedder: `injected` (a harness's choice) or the one `selectEmbedder` finds, instrumented
 * and bounded. `model` is the bare embedder, whose id names the defaults that depend on it.
 */
export async function buildEmbedder(
  config: EmbedderConfig,
  deps: { logger: Logger; metrics: Metrics; databaseKind: string },
  injected?: { embedder: Embedder; reason: string },
): Promise<Model<Embedder> & { model: Embedder }> {
  const selected = injected ?? (await selectEmbedder(config));
  deps.logger.info(
    {
      embedder: selected.embedder.id,
      dimension: selected.embedder.dimension,
      reason: selected.reason,
      database: deps.databaseKind,
    },
    'embedder ready',
  );
  return {
    model: selected.embedder,
    serving: boundedEmbedder(instrumentEmbedder(selected.embedder, deps.metrics), {
      concurrency: config.EMBED_CONCURRENCY,
      maxWaiting: config.EMBED_QUEUE_MAX,
    }),
    reason: selected.reason,
    close: () => selected.embedder.close(),
  };
}

/** The configuration the reranker takes. */
export type RerankerConfig = Pick<
  Config,
  | 'RERANKER'
  | 'RERANK_MODEL'
  | 'MODELS_DIR'
  | 'EMBEDDING_DTYPE'
  | 'RERANK_CONCURRENCY'
  | 'RERANK_QUEUE_MAX'
>;

/** The reranker, instrumented and bounded, or null when none serves. */
export async function buildReranker(
  config: RerankerConfig,
  deps: { logger: Logger; metrics: Metrics },
): Promise<Model<Reranker | null>> {
  const rerank = await selectReranker({
    kind: config.RERANKER,
    modelId: config.RERANK_MODEL,
    modelsDir: config.MODELS_DIR,
    dtype: config.EMBEDDING_DTYPE,
  });
  deps.logger.info(
    { reranker: rerank.reranker?.id ?? null, reason: rerank.reason },
    'reranker ready',
  );
  return {
    serving:
      rerank.reranker === null
        ? null
        : boundedReranker(instrumentReranker(rerank.reranker, deps.metrics), {
            concurrency: config.RERANK_CONCURRENCY,
            maxWaiting: config.RERANK_QUEUE_MAX,
          }),
    reason: rerank.reason,
    close: async () => {
      await rerank.reranker?.close();
    },
  };
}
