import type { ModelDtype } from './layout.js';

/** The default embedding model: multilingual sentence embeddings of 384 dimensions. */
export const DEFAULT_EMBEDDING_MODEL = 'Xenova/paraphrase-multilingual-MiniLM-L12-v2';
/** The default cross-encoder for reranking. */
export const DEFAULT_RERANKER_MODEL = 'Xenova/ms-marco-MiniLM-L-6-v2';
/** Quantized weights (`onnx/model_quantized.onnx`): about a quarter of the memory of fp32. */
export const DEFAULT_MODEL_DTYPE: ModelDtype = 'q8';
