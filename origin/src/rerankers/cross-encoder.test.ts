import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyModels } from '../../../scripts/make-tiny-model.js';
import { CrossEncoderReranker, crossEncoderLoadCount, rerankerIsPresent } from './cross-encoder.js';
import type { RerankCandidate } from './types.js';

let modelsDir: string;
let rerankerId: string;
let reranker: CrossEncoderReranker;

beforeAll(async () => {
  modelsDir = await mkdtemp(join(tmpdir(), 'ragedge-cross-encoder-'));
  ({ rerankerId } = await makeTinyModels(modelsDir));
  reranker = await CrossEncoderReranker.load({
    modelId: rerankerId,
    modelsDir,
    dtype: 'fp32',
    maxBatchSize: 8,
  });
});

afterAll(async () => {
  await reranker.close();
  await rm(modelsDir, { recursive: true, force: true });
});

/** Words of the tiny model's vocabulary: each is one token. */
const VOCABULARY =
  'server client install update delete create query search index document file page text answer question cite source model vector embed token cache memory disk network request response error status code'.split(
    ' ',
  );

function candidates(texts: readonly string[]): RerankCandidate[] {
  return texts.map((text, id) => ({ id, text }));
}

/**
 * Passages of the same token count. The tiny model averages over every position, padding
 * included (a real BERT masks it), so only equal lengths score the same in any batch.
 */
function sameLengthPassages(count: number): RerankCandidate[] {
  return candidates(
    Array.from({ length: count }, (_, i) =>
      Array.from({ length: 6 }, (_, j) => VOCABULARY[(i * 7 + j * 3) % VOCABULARY.length]).join(
        ' ',
      ),
    ),
  );
}

describe('CrossEncoderReranker', () => {
  it('names itself after the model', () => {
    expect(reranker.id).toBe('cross-encoder:tiny/reranker');
    expect(reranker.maxBatchSize).toBe(8);
  });

  it('returns one finite score per candidate, in input order', async () => {
    const texts = ['install the server', 'bake bread in the oven', 'a cat', 'the river'];
    const scores = await reranker.score('install server', candidates(texts));
    expect(scores).toHaveLength(4);
    for (const score of scores) expect(Number.isFinite(score)).toBe(true);
    const reversed = await reranker.score('install server', candidates([...texts].reverse()));
    expect(reversed).toEqual([...scores].reverse());
  });

  it('gives the same input the same scores', async () => {
    const input = candidates(['install the server', 'a cat', 'install the server']);
    const first = await reranker.score('install server', input);
    expect(first[0]).toBe(first[2]);
    expect(await reranker.score('install server', input)).toEqual(first);
    expect(await reranker.score('bake bread', input)).not.toEqual(first);
  });

  it('scores the same whatever the batch size', async () => {
    const input = sameLengthPassages(37);
    const wide = await CrossEncoderReranker.load({
      modelId: rerankerId,
      modelsDir,
      dtype: 'fp32',
      maxBatchSize: 64,
    });
    try {
      const split = await reranker.score('search the index', input);
      const whole = await wide.score('search the index', input);
      expect(split).toHaveLength(37);
      for (const [i, score] of split.entries())
        expect(score).toBeCloseTo(whole[i] ?? Number.NaN, 5);
    } finally {
      await wide.close();
    }
  });

  it('scores a 50,000-character passage, truncated to the model token limit', async () => {
    const long = 'install the server '.repeat(3000).slice(0, 50_000);
    const [score] = await reranker.score('install server', candidates([long]));
    expect(Number.isFinite(score)).toBe(true);

    // The tiny model keeps 128 tokens: what follows the first 200 words cannot change the score.
    const prefix = Array.from({ length: 200 }, (_, i) => VOCABULARY[i % VOCABULARY.length]).join(
      ' ',
    );
    const [a] = await reranker.score('install server', candidates([`${prefix} cat dog`]));
    const [b] = await reranker.score('install server', candidates([`${prefix} bread ${long}`]));
    expect(a).toBe(b);
  });

  it('returns nothing for no candidates', async () => {
    expect(await reranker.score('install server', [])).toEqual([]);
  });

  it('shares one model between loads, even concurrent ones, until the last close', async () => {
    const before = crossEncoderLoadCount();
    const [first, second] = await Promise.all([
      CrossEncoderReranker.load({ modelId: rerankerId, modelsDir, dtype: 'q8' }),
      CrossEncoderReranker.load({ modelId: rerankerId, modelsDir, dtype: 'q8' }),
    ]);
    const third = await CrossEncoderReranker.load({
      modelId: rerankerId,
      modelsDir,
      dtype: 'fp32',
    });
    expect(crossEncoderLoadCount()).toBe(before + 1);

    await first.close();
    expect(await second.score('still', candidates(['open']))).toHaveLength(1);
    await second.close();
    await third.close();
    expect(await reranker.score('still', candidates(['open']))).toHaveLength(1);
    await expect(second.score('closed', candidates(['x']))).rejects.toThrow('after close');

    const fresh = await CrossEncoderReranker.load({ modelId: rerankerId, modelsDir, dtype: 'q8' });
    expect(crossEncoderLoadCount()).toBe(before + 2);
    await fresh.close();
  });

  it('rejects a model that is not on disk, naming the fix', async () => {
    await expect(
      CrossEncoderReranker.load({ modelId: 'nobody/nothing', modelsDir, dtype: 'fp32' }),
    ).rejects.toThrow('npm run models:fetch');
  });

  it('rejects a batch size that is not a positive integer', async () => {
    await expect(
      CrossEncoderReranker.load({ modelId: rerankerId, modelsDir, maxBatchSize: 0 }),
    ).rejects.toThrow(RangeError);
  });
});

describe('rerankerIsPresent', () => {
  it('finds the files the dtype needs', () => {
    expect(rerankerIsPresent(modelsDir, rerankerId, 'fp32')).toBe(true);
    expect(rerankerIsPresent(modelsDir, rerankerId)).toBe(true);
    expect(rerankerIsPresent(modelsDir, rerankerId, 'fp16')).toBe(false);
    expect(rerankerIsPresent(modelsDir, 'nobody/nothing', 'q8')).toBe(false);
  });
});
