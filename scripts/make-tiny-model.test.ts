import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyModels } from './make-tiny-model.js';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ragedge-tiny-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function snapshot(dir: string): Promise<Map<string, Buffer>> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = new Map<string, Buffer>();
  for (const entry of entries.filter((e) => e.isFile())) {
    const path = join(entry.parentPath, entry.name);
    files.set(path.slice(dir.length + 1), await readFile(path));
  }
  return files;
}

describe('makeTinyModels', () => {
  it('writes both models in the Hugging Face layout, byte for byte the same on every run', async () => {
    const ids = await makeTinyModels(join(root, 'a'));
    await makeTinyModels(join(root, 'b'));
    expect(ids).toEqual({ embedderId: 'tiny/embedder', rerankerId: 'tiny/reranker' });

    const [a, b] = [await snapshot(join(root, 'a')), await snapshot(join(root, 'b'))];
    const perModel = [
      'config.json',
      'onnx/model.onnx',
      'onnx/model_quantized.onnx',
      'special_tokens_map.json',
      'tokenizer.json',
      'tokenizer_config.json',
    ];
    expect([...a.keys()].sort()).toEqual(
      ['tiny/embedder', 'tiny/reranker'].flatMap((id) => perModel.map((file) => `${id}/${file}`)),
    );
    for (const [path, bytes] of a) expect(bytes.equals(b.get(path)!), path).toBe(true);
  });

  it('declares a sequence-classification head for the reranker', async () => {
    const config = JSON.parse(await readFile(join(root, 'a/tiny/reranker/config.json'), 'utf8'));
    expect(config).toMatchObject({
      model_type: 'bert',
      architectures: ['BertForSequenceClassification'],
      id2label: { '0': 'LABEL_0' },
    });
  });
});
