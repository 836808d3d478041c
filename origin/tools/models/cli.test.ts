import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyModels } from '../../../scripts/make-tiny-model.js';
import { DEFAULT_EMBEDDING_MODEL, DEFAULT_RERANKER_MODEL } from '../../src/models/defaults.js';
import { modelFilesPresent } from '../../src/models/layout.js';
import { startTestHub, type TestHub } from '../../src/models/test-hub.js';
import { main } from './cli.js';

let root: string;
let hub: TestHub;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ragedge-cli-'));
  const { embedderId, rerankerId } = await makeTinyModels(join(root, 'source'));
  hub = await startTestHub(join(root, 'source'), {
    [DEFAULT_EMBEDDING_MODEL]: embedderId,
    [DEFAULT_RERANKER_MODEL]: rerankerId,
  });
});

afterAll(async () => {
  await hub.close();
  await rm(root, { recursive: true, force: true });
});

function capture(): { write(text: string): void; text: () => string } {
  const parts: string[] = [];
  return { write: (text) => void parts.push(text), text: () => parts.join('') };
}

describe('models:fetch', () => {
  it('fetches the default embedder and reranker, quantized, and reports each file', async () => {
    const modelsDir = join(root, 'models');
    const out = capture();
    const code = await main(['--models-dir', modelsDir, '--hub-url', hub.url], { out });
    expect(code).toBe(0);
    expect(modelFilesPresent(modelsDir, DEFAULT_EMBEDDING_MODEL, 'q8')).toBe(true);
    expect(modelFilesPresent(modelsDir, DEFAULT_RERANKER_MODEL, 'q8')).toBe(true);
    expect(out.text()).toContain(
      `${DEFAULT_EMBEDDING_MODEL}/onnx/model_quantized.onnx: 0.1 MB done`,
    );

    const again = capture();
    expect(await main(['--models-dir', modelsDir, '--hub-url', hub.url], { out: again })).toBe(0);
    expect(again.text()).toContain(`${DEFAULT_RERANKER_MODEL}/config.json: already present`);
  });

  it('fills the MODELS_DIR the origin reads, from MODELS_HUB_URL, when no option says otherwise', async () => {
    const modelsDir = join(root, 'from-env');
    const out = capture();
    const env = { MODELS_DIR: modelsDir, MODELS_HUB_URL: hub.url };
    expect(await main([], { out, env })).toBe(0);
    expect(modelFilesPresent(modelsDir, DEFAULT_EMBEDDING_MODEL, 'q8')).toBe(true);
    expect(out.text()).toContain(`Models are in ${modelsDir}`);
  });

  it('exits 1 with the reason when a download fails', async () => {
    hub.failures.set(`${DEFAULT_EMBEDDING_MODEL}/config.json`, 503);
    const out = capture();
    const code = await main(['--models-dir', join(root, 'failing'), '--hub-url', hub.url], { out });
    hub.failures.clear();
    expect(code).toBe(1);
    expect(out.text()).toContain('HTTP 503');
  });

  it('exits 2 on an unknown option', async () => {
    const out = capture();
    expect(await main(['--model-dir', 'x'], { out })).toBe(2);
    expect(out.text()).toContain('Usage: models:fetch');
  });
});
