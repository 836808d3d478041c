import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoTokenizer, env, type PreTrainedTokenizer } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyModels } from '../../../scripts/make-tiny-model.js';
import { encodePairs, longestFirst, pairSpecialTokenCount, toBatch } from './pair-encoding.js';

let modelsDir: string;
let tokenizer: PreTrainedTokenizer;
/** The tiny tokenizer's ids: `[CLS]` 2, `[SEP]` 3, `[PAD]` 0. */
const CLS = 2;
const SEP = 3;

beforeAll(async () => {
  modelsDir = await mkdtemp(join(tmpdir(), 'ragedge-pairs-'));
  const { rerankerId } = await makeTinyModels(modelsDir);
  env.localModelPath = modelsDir;
  env.allowRemoteModels = false;
  tokenizer = await AutoTokenizer.from_pretrained(rerankerId, {
    local_files_only: true,
    cache_dir: modelsDir,
  });
});

afterAll(async () => {
  await rm(modelsDir, { recursive: true, force: true });
});

function libraryIds(query: string, passage: string): { ids: number[]; types: number[] } {
  const encoded = tokenizer([query], {
    text_pair: [passage],
    padding: true,
    truncation: true,
    return_tensor: false,
  }) as unknown as { input_ids: number[][]; token_type_ids: number[][] };
  return { ids: encoded.input_ids[0] ?? [], types: encoded.token_type_ids[0] ?? [] };
}

describe('longestFirst', () => {
  it('keeps both sides when they fit', () => {
    expect(longestFirst(10, 100, 125)).toEqual([10, 100]);
  });

  it('trims the longer side first, then both to half', () => {
    expect(longestFirst(10, 500, 125)).toEqual([10, 115]);
    expect(longestFirst(500, 10, 125)).toEqual([115, 10]);
    expect(longestFirst(300, 300, 125)).toEqual([63, 62]);
    expect(longestFirst(300, 70, 125)).toEqual([63, 62]);
    expect(longestFirst(5, 5, -3)).toEqual([0, 0]);
  });
});

describe('encodePairs', () => {
  it('matches the library encoding of a pair that fits', () => {
    const query = 'how do I install the server?';
    const passage = 'Install › Setup\n\nRun the installer, then start the server.';
    const [pair] = encodePairs(tokenizer, query, [passage], 128);
    const library = libraryIds(query, passage);
    expect(pair?.inputIds).toEqual(library.ids);
    expect(pair?.tokenTypeIds).toEqual(library.types);
    expect(pairSpecialTokenCount(tokenizer)).toBe(3);
  });

  it('keeps the closing [SEP] of a long passage, which the library truncation drops', () => {
    const long = 'server '.repeat(300);
    const [pair] = encodePairs(tokenizer, 'install server', [long], 128);
    expect(pair?.inputIds).toHaveLength(128);
    expect(pair?.inputIds.slice(0, 4)).toEqual(libraryIds('install server', '').ids.slice(0, 4));
    expect(pair?.inputIds.at(-1)).toBe(SEP);
    // transformers.js 3.8 cuts the joined ids at max_length: if this starts failing, the library
    // now truncates pairs itself and this module may be simpler.
    expect(libraryIds('install server', long).ids.at(-1)).not.toBe(SEP);
  });

  it('keeps part of the passage when the query alone is over the limit', () => {
    const [pair] = encodePairs(tokenizer, 'server '.repeat(200), ['install the server'], 128);
    const ids = pair?.inputIds ?? [];
    expect(ids).toHaveLength(128);
    expect(ids[0]).toBe(CLS);
    expect(ids.filter((id) => id === SEP)).toHaveLength(2);
    expect(ids.at(-1)).toBe(SEP);
    expect(pair?.tokenTypeIds?.filter((type) => type === 1)).toHaveLength(4);
  });

  it('encodes an empty query and an empty passage', () => {
    const [pair] = encodePairs(tokenizer, '', [''], 128);
    expect(pair?.inputIds).toEqual([CLS, SEP, SEP]);
  });
});

describe('toBatch', () => {
  it('pads to the longest pair and masks the padding', () => {
    const pairs = encodePairs(tokenizer, 'server', ['install', 'install the new server'], 128);
    const batch = toBatch(tokenizer, pairs);
    const width = pairs[1]?.inputIds.length ?? 0;
    expect(batch.input_ids.dims).toEqual([2, width]);
    const ids = Array.from(batch.input_ids.data as BigInt64Array, Number);
    const mask = Array.from(batch.attention_mask.data as BigInt64Array, Number);
    const shortLength = pairs[0]?.inputIds.length ?? 0;
    expect(ids.slice(0, shortLength)).toEqual(pairs[0]?.inputIds);
    expect(ids.slice(shortLength, width).every((id) => id === 0)).toBe(true);
    expect(mask.slice(0, width)).toEqual(
      Array.from({ length: width }, (_, i) => (i < shortLength ? 1 : 0)),
    );
    expect(batch.token_type_ids?.dims).toEqual([2, width]);
  });
});
