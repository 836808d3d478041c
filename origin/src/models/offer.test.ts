import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeTinyModels } from '../../../scripts/make-tiny-model.js';
import { DEFAULT_EMBEDDING_MODEL, DEFAULT_RERANKER_MODEL } from './defaults.js';
import { modelFilesPresent } from './layout.js';
import { type ModelOfferSettings, offerModels, UPGRADE_HINT } from './offer.js';
import { startTestHub, type TestHub } from './test-hub.js';

let root: string;
let hub: TestHub;
let run = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ragedge-offer-'));
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

beforeEach(() => {
  hub.log.length = 0;
});

/** Fresh data and models folders, and the defaults the origin starts with. */
function settings(overrides: Partial<ModelOfferSettings> = {}): ModelOfferSettings {
  run += 1;
  return {
    MODELS_FETCH: 'auto',
    MODELS_DIR: join(root, `models-${run}`),
    MODELS_HUB_URL: hub.url,
    DATA_DIR: join(root, `data-${run}`),
    EMBEDDER: 'auto',
    EMBEDDING_MODEL: DEFAULT_EMBEDDING_MODEL,
    EMBEDDING_DTYPE: 'q8',
    RERANKER: 'auto',
    RERANK_MODEL: DEFAULT_RERANKER_MODEL,
    ...overrides,
  };
}

/** A terminal (or not) whose keyboard has `typed` waiting, and whose screen is kept. */
function terminal(typed: string, isTTY = true) {
  const input = Object.assign(new PassThrough(), { isTTY });
  input.end(typed);
  let screen = '';
  const output = Object.assign(
    new Writable({
      write(chunk, _encoding, callback) {
        screen += String(chunk);
        callback();
      },
    }),
    { isTTY },
  );
  return { input, output, screen: () => screen };
}

function bothPresent(config: ModelOfferSettings): boolean {
  return [DEFAULT_EMBEDDING_MODEL, DEFAULT_RERANKER_MODEL].every((id) =>
    modelFilesPresent(config.MODELS_DIR, id, 'q8'),
  );
}

describe('the first start offer of models', () => {
  it('at a terminal, states the size, fetches on yes with a progress bar, and verifies', async () => {
    const config = settings();
    const tty = terminal('y\n');
    expect(await offerModels(config, tty)).toBe('fetched');
    const screen = tty.screen();
    expect(screen).toMatch(/Fetch them now, 0\.\d MB\? \[Y\/n\]/);
    expect(screen).toMatch(/Fetching models .* 100% \| 0\.\d MB of 0\.\d MB/);
    // Two weight files, each checked against the SHA-256 the hub states for it.
    expect(screen).toContain('10 files, every size checked, 2 of them against the hub');
    expect(bothPresent(config)).toBe(true);
  });

  it('on no, fetches nothing, says how to upgrade, and does not ask again', async () => {
    const config = settings();
    const tty = terminal('n\n');
    expect(await offerModels(config, tty)).toBe('declined');
    expect(tty.screen()).toContain(`Serving the offline hash embedder; ${UPGRADE_HINT}.`);
    expect(hub.log.every((line) => line.startsWith('HEAD '))).toBe(true);
    expect(existsSync(config.MODELS_DIR)).toBe(false);

    hub.log.length = 0;
    const later = terminal('');
    expect(await offerModels(config, later)).toBe('not-asked');
    expect(later.screen()).toBe('');
    expect(hub.log).toEqual([]);
  });

  it('never asks nor fetches without a terminal, unless MODELS_FETCH=always', async () => {
    const quiet = settings();
    expect(await offerModels(quiet, terminal('y\n', false))).toBe('not-asked');
    expect(hub.log).toEqual([]);
    expect(await offerModels(settings({ MODELS_FETCH: 'never' }), terminal('y\n'))).toBe(
      'not-asked',
    );
    expect(hub.log).toEqual([]);

    const always = settings({ MODELS_FETCH: 'always' });
    const pipe = terminal('', false);
    expect(await offerModels(always, pipe)).toBe('fetched');
    expect(pipe.screen()).not.toContain('[Y/n]');
    expect(bothPresent(always)).toBe(true);
    expect(await offerModels(always, terminal('', false))).toBe('present');
  });

  it('asks only for what the settings use and is missing', async () => {
    expect(
      await offerModels(settings({ EMBEDDER: 'hash', RERANKER: 'none' }), terminal('y\n')),
    ).toBe('present');
    const tty = terminal('n\n');
    expect(await offerModels(settings({ EMBEDDER: 'hash' }), tty)).toBe('declined');
    expect(tty.screen()).toContain(
      `The reranking model (${DEFAULT_RERANKER_MODEL}) is not in ${join(root, `models-${run}`)}.\nFetch it now, 0.`,
    );
    expect(hub.log.some((line) => line.includes(DEFAULT_EMBEDDING_MODEL))).toBe(false);
  });

  it('offline, serves the hash embedder and says so in one line with the upgrade', async () => {
    const tty = terminal('y\n');
    const config = settings({ MODELS_HUB_URL: 'http://127.0.0.1:9' });
    expect(await offerModels(config, tty)).toBe('offline');
    expect(tty.screen()).toContain('Models: could not reach http://127.0.0.1:9');
    expect(tty.screen()).toContain(UPGRADE_HINT);
    expect(tty.screen()).not.toContain('[Y/n]');
  });
});
