import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyModels } from '../../../scripts/make-tiny-model.js';
import { CrossEncoderReranker } from './cross-encoder.js';
import { LexicalReranker } from './lexical.js';
import { type SelectRerankerOptions, selectReranker } from './select.js';

let modelsDir: string;
let options: SelectRerankerOptions;

beforeAll(async () => {
  modelsDir = await mkdtemp(join(tmpdir(), 'ragedge-select-reranker-'));
  const { rerankerId } = await makeTinyModels(modelsDir);
  options = { kind: 'auto', modelId: rerankerId, modelsDir, dtype: 'fp32' };
});

afterAll(async () => {
  await rm(modelsDir, { recursive: true, force: true });
});

describe('selectReranker', () => {
  it('turns reranking off for none', async () => {
    expect(await selectReranker({ ...options, kind: 'none' })).toEqual({
      reranker: null,
      reason: 'reranking is off',
    });
  });

  it('gives the lexical reranker when asked, model or not', async () => {
    const { reranker } = await selectReranker({ ...options, kind: 'lexical' });
    expect(reranker).toBeInstanceOf(LexicalReranker);
  });

  it('loads the cross-encoder on auto when the model is on disk', async () => {
    const { reranker, reason } = await selectReranker({ ...options, maxBatchSize: 4 });
    expect(reranker).toBeInstanceOf(CrossEncoderReranker);
    expect(reranker?.maxBatchSize).toBe(4);
    expect(reason).toBe(`model tiny/reranker found in ${modelsDir}, using the cross-encoder`);
    await reranker?.close();
  });

  it('turns reranking off on auto when the model is missing, saying how to fetch it', async () => {
    const { reranker, reason } = await selectReranker({ ...options, modelId: 'nobody/nothing' });
    expect(reranker).toBeNull();
    expect(reason).toBe(
      `model nobody/nothing not found in ${modelsDir} (run \`npm run models:fetch\`); reranking is off`,
    );
  });

  it('turns reranking off on auto when the model will not load', async () => {
    const broken = join(modelsDir, 'broken');
    await cp(join(modelsDir, 'tiny/reranker'), join(broken, 'tiny/reranker'), { recursive: true });
    await writeFile(join(broken, 'tiny/reranker/onnx/model.onnx'), 'not an onnx graph');
    const { reranker, reason } = await selectReranker({ ...options, modelsDir: broken });
    expect(reranker).toBeNull();
    expect(reason).toContain('failed to load');
  });

  it('loads the cross-encoder when asked, and throws naming the fix when it is missing', async () => {
    const { reranker } = await selectReranker({ ...options, kind: 'cross-encoder' });
    expect(reranker).toBeInstanceOf(CrossEncoderReranker);
    await reranker?.close();
    await expect(
      selectReranker({ ...options, kind: 'cross-encoder', dtype: 'fp16' }),
    ).rejects.toThrow('npm run models:fetch');
  });
});
