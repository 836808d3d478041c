import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeTinyModels } from '../../../scripts/make-tiny-model.js';
import { TransformersEmbedder } from '../embedders/transformers.js';
import { type FetchProgress, fetchModel } from './fetch.js';
import { startTestHub, type TestHub } from './test-hub.js';

let root: string;
let sourceDir: string;
let embedderId: string;
let hub: TestHub;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ragedge-fetch-'));
  sourceDir = join(root, 'source');
  ({ embedderId } = await makeTinyModels(sourceDir));
  hub = await startTestHub(sourceDir);
});

afterAll(async () => {
  await hub.close();
  await rm(root, { recursive: true, force: true });
});

beforeEach(() => {
  hub.failures.clear();
  hub.requests.length = 0;
  hub.log.length = 0;
});

/** The GET requests the hub saw (HEAD requests only size files up). */
function gets(): string[] {
  return hub.log.filter((line) => line.startsWith('GET ') && !line.startsWith('GET /cdn/'));
}

let target = 0;
/** A fresh, empty models folder per test. */
function freshModelsDir(): string {
  target += 1;
  return join(root, `target-${target}`);
}

/** Every file under `dir`, relative, sorted. */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort();
}

describe('fetchModel', () => {
  it('downloads the model files in the hub layout, byte for byte', async () => {
    const modelsDir = freshModelsDir();
    const progress: FetchProgress[] = [];
    const result = await fetchModel({
      modelId: embedderId,
      modelsDir,
      hubUrl: hub.url,
      dtype: 'fp32',
      onProgress: (event) => progress.push(event),
    });

    const expected = [
      'config.json',
      'tokenizer.json',
      'tokenizer_config.json',
      'special_tokens_map.json',
      'onnx/model.onnx',
    ];
    expect(result).toEqual({ downloaded: expected, skipped: [], missing: [] });
    expect(gets()).toEqual(expected.map((file) => `GET /${embedderId}/resolve/main/${file}`));
    for (const file of expected) {
      const fetched = await readFile(join(modelsDir, embedderId, file));
      expect(fetched.equals(await readFile(join(sourceDir, embedderId, file)))).toBe(true);
    }
    const done = progress.filter((event) => event.status === 'done').map((event) => event.file);
    expect(done).toEqual(expected);
    // The weights are LFS files on the hub: their SHA-256 is stated, and checked.
    const verified = progress.filter((event) => event.sha256Verified).map((event) => event.file);
    expect(verified).toEqual(['onnx/model.onnx']);
  });

  it('fetches the quantized ONNX file for q8, and the revision asked for', async () => {
    const modelsDir = freshModelsDir();
    await fetchModel({ modelId: embedderId, modelsDir, hubUrl: `${hub.url}/`, revision: 'v1.0' });
    expect(hub.requests).toContain(`/${embedderId}/resolve/v1.0/onnx/model_quantized.onnx`);
    expect(await listFiles(join(modelsDir, embedderId))).toContain('onnx/model_quantized.onnx');
  });

  it('tolerates a 404 on an optional file', async () => {
    const modelsDir = freshModelsDir();
    hub.failures.set(`${embedderId}/special_tokens_map.json`, 404);
    const result = await fetchModel({
      modelId: embedderId,
      modelsDir,
      hubUrl: hub.url,
      dtype: 'fp32',
    });
    expect(result.missing).toEqual(['special_tokens_map.json']);
    expect(await listFiles(join(modelsDir, embedderId))).not.toContain('special_tokens_map.json');
  });

  it('rejects on a 404 for a required file', async () => {
    const modelsDir = freshModelsDir();
    hub.failures.set(`${embedderId}/tokenizer.json`, 404);
    await expect(
      fetchModel({ modelId: embedderId, modelsDir, hubUrl: hub.url, dtype: 'fp32' }),
    ).rejects.toThrow(`Could not download ${embedderId}/tokenizer.json`);
  });

  it('rejects with a clear message on a 500 and leaves no partial file', async () => {
    const modelsDir = freshModelsDir();
    hub.failures.set(`${embedderId}/onnx/model.onnx`, 500);
    await expect(
      fetchModel({ modelId: embedderId, modelsDir, hubUrl: hub.url, dtype: 'fp32' }),
    ).rejects.toThrow(
      `Could not download ${embedderId}/onnx/model.onnx from ${hub.url}/${embedderId}/resolve/main/onnx/model.onnx: HTTP 500 Internal Server Error`,
    );
    expect(await listFiles(join(modelsDir, embedderId))).toEqual([
      'config.json',
      'special_tokens_map.json',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
  });

  it('never names a file cut short by a dropped connection; the next run completes it', async () => {
    const modelsDir = freshModelsDir();
    const onnx = `${embedderId}/onnx/model.onnx`;
    hub.failures.set(onnx, 'truncate');
    await expect(
      fetchModel({ modelId: embedderId, modelsDir, hubUrl: hub.url, dtype: 'fp32' }),
    ).rejects.toThrow(`Could not download ${onnx} from ${hub.url}`);
    const source = await readFile(join(sourceDir, onnx));
    const left = await listFiles(join(modelsDir, embedderId, 'onnx'));
    expect(left.filter((name) => name !== 'model.onnx.part')).toEqual([]);

    hub.failures.clear();
    await fetchModel({ modelId: embedderId, modelsDir, hubUrl: hub.url, dtype: 'fp32' });
    expect((await readFile(join(modelsDir, onnx))).equals(source)).toBe(true);
    expect(await listFiles(join(modelsDir, embedderId, 'onnx'))).toEqual(['model.onnx']);
  });

  it('resumes a partial file with a Range request for the rest', async () => {
    const modelsDir = freshModelsDir();
    const onnx = `${embedderId}/onnx/model.onnx`;
    const source = await readFile(join(sourceDir, onnx));
    const half = Math.floor(source.length / 2);
    await mkdir(join(modelsDir, embedderId, 'onnx'), { recursive: true });
    await writeFile(join(modelsDir, `${onnx}.part`), source.subarray(0, half));

    await fetchModel({ modelId: embedderId, modelsDir, hubUrl: hub.url, dtype: 'fp32' });
    expect(gets()).toContain(
      `GET /${onnx.replace('/onnx/', '/resolve/main/onnx/')} bytes=${half}-`,
    );
    expect((await readFile(join(modelsDir, onnx))).equals(source)).toBe(true);
    expect(await listFiles(join(modelsDir, embedderId, 'onnx'))).toEqual(['model.onnx']);
  });

  it('removes, and never uses, a file that does not match the checksum the hub states', async () => {
    const modelsDir = freshModelsDir();
    hub.failures.set(`${embedderId}/onnx/model.onnx`, 'corrupt');
    await expect(
      fetchModel({ modelId: embedderId, modelsDir, hubUrl: hub.url, dtype: 'fp32' }),
    ).rejects.toThrow(/onnx\/model\.onnx .*checksum mismatch \(expected sha256 [0-9a-f]{64}, got/);
    expect(await listFiles(join(modelsDir, embedderId, 'onnx'))).toEqual([]);
  });

  it('gives up on a file that stops sending data', async () => {
    const modelsDir = freshModelsDir();
    hub.failures.set(`${embedderId}/config.json`, 'stall');
    await expect(
      fetchModel({
        modelId: embedderId,
        modelsDir,
        hubUrl: hub.url,
        dtype: 'fp32',
        timeoutMs: 200,
      }),
    ).rejects.toThrow('no data for 200 ms');
    expect(await listFiles(join(modelsDir, embedderId))).toEqual([]);
  });

  it('skips files already present and fetches only what is missing', async () => {
    const modelsDir = freshModelsDir();
    hub.failures.set(`${embedderId}/onnx/model.onnx`, 500);
    await expect(
      fetchModel({ modelId: embedderId, modelsDir, hubUrl: hub.url, dtype: 'fp32' }),
    ).rejects.toThrow();
    hub.failures.clear();
    hub.log.length = 0;

    const result = await fetchModel({
      modelId: embedderId,
      modelsDir,
      hubUrl: hub.url,
      dtype: 'fp32',
    });
    expect(result.downloaded).toEqual(['onnx/model.onnx']);
    expect(gets()).toEqual([`GET /${embedderId}/resolve/main/onnx/model.onnx`]);

    hub.log.length = 0;
    const again = await fetchModel({
      modelId: embedderId,
      modelsDir,
      hubUrl: hub.url,
      dtype: 'fp32',
    });
    expect(again.downloaded).toEqual([]);
    expect(again.skipped).toHaveLength(5);
    expect(hub.log).toEqual([]);
  });

  it('refuses a model id that could escape the models folder', async () => {
    const modelsDir = freshModelsDir();
    await expect(fetchModel({ modelId: '../etc', modelsDir, hubUrl: hub.url })).rejects.toThrow(
      'Invalid model id',
    );
    await expect(fetchModel({ modelId: 'a/../../b', modelsDir, hubUrl: hub.url })).rejects.toThrow(
      'Invalid model id',
    );
    await expect(stat(modelsDir)).rejects.toThrow();
  });

  it('produces a copy that TransformersEmbedder loads', async () => {
    const modelsDir = freshModelsDir();
    await fetchModel({ modelId: embedderId, modelsDir, hubUrl: hub.url, dtype: 'q8' });
    const embedder = await TransformersEmbedder.load({
      modelId: embedderId,
      modelsDir,
      dtype: 'q8',
    });
    try {
      const [vector] = await embedder.embed(['install the server']);
      expect(vector).toHaveLength(32);
    } finally {
      await embedder.close();
    }
  });
});
