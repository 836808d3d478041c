import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyModels } from '../../../scripts/make-tiny-model.js';
import { modelIsPresent, pipelineLoadCount, TransformersEmbedder } from './transformers.js';

let modelsDir: string;
let embedderId: string;
let embedder: TransformersEmbedder;

beforeAll(async () => {
  modelsDir = await mkdtemp(join(tmpdir(), 'ragedge-transformers-'));
  ({ embedderId } = await makeTinyModels(modelsDir));
  embedder = await TransformersEmbedder.load({
    modelId: embedderId,
    modelsDir,
    dtype: 'fp32',
    maxBatchSize: 4,
  });
});

afterAll(async () => {
  await embedder.close();
  await rm(modelsDir, { recursive: true, force: true });
});

function norm(vector: Float32Array): number {
  return Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0));
}

/** Words of the tiny model's vocabulary, so that every word is one token. */
function words(count: number, vocabulary: string[]): string {
  return Array.from({ length: count }, (_, i) => vocabulary[i % vocabulary.length]).join(' ');
}

describe('TransformersEmbedder', () => {
  it('names itself after the model and reads the dimension from the output', () => {
    expect(embedder.id).toBe('transformers:tiny/embedder');
    expect(embedder.dimension).toBe(32);
    expect(embedder.maxBatchSize).toBe(4);
  });

  it('returns normalized Float32Array vectors of the model dimension', async () => {
    const vectors = await embedder.embed(['install the server', 'bake bread in the oven']);
    for (const vector of vectors) {
      expect(vector).toBeInstanceOf(Float32Array);
      expect(vector).toHaveLength(32);
      expect(norm(vector)).toBeCloseTo(1, 5);
    }
  });

  it('gives the same text the same vector and different texts different vectors', async () => {
    const [a, b, c] = await embedder.embed(['install the server', 'install the server', 'a cat']);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    const [again] = await embedder.embed(['install the server']);
    expect(again).toEqual(a);
  });

  it('returns one vector per text, in order, whatever the batch', async () => {
    const texts = ['water', 'a much longer sentence about the river and the mountain', 'cat', ''];
    const batch = await embedder.embed(texts);
    expect(batch).toHaveLength(4);
    for (const [i, text] of texts.entries()) {
      const [alone] = await embedder.embed([text]);
      const row = batch[i]!;
      // Padding changes nothing but float rounding.
      for (let d = 0; d < row.length; d++) expect(row[d]).toBeCloseTo(alone![d]!, 5);
    }
  });

  it('returns nothing for an empty batch and rejects a batch over maxBatchSize', async () => {
    expect(await embedder.embed([])).toEqual([]);
    await expect(embedder.embed(['a', 'b', 'c', 'd', 'e'])).rejects.toThrow(
      'exceeds maxBatchSize 4',
    );
  });

  it('embeds a 50,000-character text, truncated to the model token limit', async () => {
    const long = words(10_000, ['install', 'the', 'server']).slice(0, 50_000);
    const [vector] = await embedder.embed([long]);
    expect(norm(vector!)).toBeCloseTo(1, 5);

    // The tiny model keeps 128 tokens: what follows the first 200 words cannot change the vector.
    const prefix = words(200, ['river', 'mountain', 'garden']);
    const [a, b] = await embedder.embed([`${prefix} cat dog`, `${prefix} bread oven ${long}`]);
    expect(a).toEqual(b);
  });

  it('shares one pipeline between loads of the same model, even concurrent ones', async () => {
    const before = pipelineLoadCount();
    const [first, second] = await Promise.all([
      TransformersEmbedder.load({ modelId: embedderId, modelsDir, dtype: 'q8' }),
      TransformersEmbedder.load({ modelId: embedderId, modelsDir, dtype: 'q8' }),
    ]);
    const third = await TransformersEmbedder.load({
      modelId: embedderId,
      modelsDir,
      dtype: 'fp32',
    });
    expect(pipelineLoadCount()).toBe(before + 1);

    // Closing one user keeps the pipeline for the other.
    await first.close();
    expect(await second.embed(['still open'])).toHaveLength(1);
    await second.close();
    await third.close();
    expect(await embedder.embed(['still open'])).toHaveLength(1);
    await expect(second.embed(['closed'])).rejects.toThrow('after close');

    // Once the last user is gone, the next load starts a new pipeline.
    const fresh = await TransformersEmbedder.load({ modelId: embedderId, modelsDir, dtype: 'q8' });
    expect(pipelineLoadCount()).toBe(before + 2);
    await fresh.close();
  });

  it('rejects a model that is not on disk, naming the fix', async () => {
    await expect(
      TransformersEmbedder.load({ modelId: 'nobody/nothing', modelsDir, dtype: 'fp32' }),
    ).rejects.toThrow('npm run models:fetch');
  });
});

describe('modelIsPresent', () => {
  it('finds the files the dtype needs', () => {
    expect(modelIsPresent(modelsDir, embedderId, 'fp32')).toBe(true);
    expect(modelIsPresent(modelsDir, embedderId, 'q8')).toBe(true);
    expect(modelIsPresent(modelsDir, embedderId)).toBe(true);
    expect(modelIsPresent(modelsDir, embedderId, 'fp16')).toBe(false);
    expect(modelIsPresent(modelsDir, 'nobody/nothing')).toBe(false);
  });

  it('is false when a required file is missing', async () => {
    const copy = join(modelsDir, 'copy');
    await cp(join(modelsDir, embedderId), join(copy, embedderId), { recursive: true });
    await rm(join(copy, embedderId, 'tokenizer.json'));
    expect(modelIsPresent(copy, embedderId, 'fp32')).toBe(false);
  });
});
