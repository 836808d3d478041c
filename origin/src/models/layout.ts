/**
 * Where a model's files live on disk, in the Hugging Face layout that `@huggingface/transformers`
 * reads: `<modelsDir>/<owner>/<name>/config.json`, `tokenizer.json`, `onnx/model<suffix>.onnx`.
 */
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** ONNX weight variants, named as `@huggingface/transformers` names them. */
export type ModelDtype = 'fp32' | 'fp16' | 'q8' | 'int8' | 'uint8' | 'q4' | 'q4f16' | 'bnb4';

/** The file suffix transformers.js appends to `onnx/model` for each dtype. */
const ONNX_SUFFIX: Record<ModelDtype, string> = {
  fp32: '',
  fp16: '_fp16',
  q8: '_quantized',
  int8: '_int8',
  uint8: '_uint8',
  q4: '_q4',
  q4f16: '_q4f16',
  bnb4: '_bnb4',
};

/** The ONNX file the given dtype loads, relative to the model folder. */
export function onnxFileFor(dtype: ModelDtype): string {
  return `onnx/model${ONNX_SUFFIX[dtype]}.onnx`;
}

/** Files a text model needs; `optional` ones may be missing upstream. */
export function modelFiles(dtype: ModelDtype): { path: string; optional: boolean }[] {
  return [
    { path: 'config.json', optional: false },
    { path: 'tokenizer.json', optional: false },
    { path: 'tokenizer_config.json', optional: false },
    { path: 'special_tokens_map.json', optional: true },
    { path: onnxFileFor(dtype), optional: false },
  ];
}

const MODEL_ID = /^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/;

/**
 * Checks that a model id is `owner/name` with no path tricks, so that joining it to the
 * models folder cannot escape it.
 */
export function assertModelId(modelId: string): void {
  if (!MODEL_ID.test(modelId) || modelId.includes('..')) {
    throw new Error(`Invalid model id "${modelId}": expected "owner/name"`);
  }
}

/** Absolute folder of a model inside `modelsDir`. */
export function modelDir(modelsDir: string, modelId: string): string {
  assertModelId(modelId);
  return join(resolve(modelsDir), modelId);
}

function isNonEmptyFile(path: string): boolean {
  const stat = statSync(path, { throwIfNoEntry: false });
  return stat?.isFile() === true && stat.size > 0;
}

/** True when `config.json`, `tokenizer.json` and the ONNX file for `dtype` are all on disk. */
export function modelFilesPresent(modelsDir: string, modelId: string, dtype: ModelDtype): boolean {
  const dir = modelDir(modelsDir, modelId);
  return ['config.json', 'tokenizer.json', onnxFileFor(dtype)].every((file) =>
    isNonEmptyFile(join(dir, file)),
  );
}
