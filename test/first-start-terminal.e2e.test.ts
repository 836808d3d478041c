import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_EMBEDDING_MODEL, DEFAULT_RERANKER_MODEL } from '../origin/src/models/defaults.js';
import { modelFilesPresent } from '../origin/src/models/layout.js';
import { startTestHub, type TestHub } from '../origin/src/models/test-hub.js';
import { TEST_DB } from '../origin/test/harness.js';
import { makeTinyModels } from '../scripts/make-tiny-model.js';
import { startOrigin } from './origin-process.js';
import { startInTerminal, type TerminalOrigin } from './terminal-process.js';

/**
 * `npm start` as a person at a terminal meets it: asked about the models (fetched from the local
 * stand-in for the hub, never the real one), readable logs, and a banner on every start. About
 * the embedded default only, so it runs in the PGlite pass.
 */
describe.skipIf(TEST_DB !== 'pglite')('a start at a terminal', () => {
  let dir: string;
  let hub: TestHub;
  let origin: TerminalOrigin | undefined;
  const BANNER = /ragedge \S+ is ready at (http:\/\/127\.0\.0\.1:\d+)[\s\S]*Next: +\S.*\n/;

  const env = (name: string, extra: Record<string, string> = {}) => ({
    DATA_DIR: join(dir, name, 'data'),
    MODELS_DIR: join(dir, name, 'models'),
    SITE_DIR: join(dir, 'site'),
    MODELS_HUB_URL: hub.url,
    ...extra,
  });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ragedge-terminal-'));
    mkdirSync(join(dir, 'site'));
    writeFileSync(join(dir, 'site', 'index.html'), '<!doctype html><title>chat</title>');
    const { embedderId, rerankerId } = await makeTinyModels(join(dir, 'hub'));
    hub = await startTestHub(join(dir, 'hub'), {
      [DEFAULT_EMBEDDING_MODEL]: embedderId,
      [DEFAULT_RERANKER_MODEL]: rerankerId,
    });
  });

  // A test that fails half-way must not leave its origin holding the data folder.
  afterEach(async () => {
    await origin?.stop();
    origin = undefined;
  });

  afterAll(async () => {
    await hub?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('first start: offers the models, fetches them with progress, then the banner', async () => {
    origin = startInTerminal(env('accept', { DEMO_SITE: 'auto' }));
    const question = await origin.waitFor(/\[Y\/n\] /);
    expect(question).toMatch(
      /The embedding and reranking models \(Xenova\/\S+, Xenova\/\S+\) are not in .*\nFetch them now, 0\.\d MB\?/,
    );
    origin.type('y\r');
    const screen = await origin.waitFor(BANNER);
    expect(screen).toMatch(/Fetching models =+ 100% \| 0\.\d MB of 0\.\d MB/);
    expect(screen).toMatch(/Models fetched into .*: 10 files, every size checked, 2 of them/);
    for (const id of [DEFAULT_EMBEDDING_MODEL, DEFAULT_RERANKER_MODEL])
      expect(modelFilesPresent(join(dir, 'accept', 'models'), id, 'q8')).toBe(true);

    // Readable log lines, not JSON, and the fetched model serving.
    expect(screen).toMatch(/^\[\d\d:\d\d:\d\d\] INFO: origin listening/m);
    expect(screen).not.toMatch(/^\{"level"/m);
    const url = BANNER.exec(screen)![1]!;
    const banner = screen.slice(screen.lastIndexOf('ragedge '));
    expect(banner).toContain(`Embeddings:     model ${DEFAULT_EMBEDDING_MODEL}\n`);
    expect(banner).toContain(
      `Admin token:    generated now in ${join(dir, 'accept', 'data', 'admin-token')}`,
    );
    const chat = /Chat with demo: (http:\/\/\S+)/.exec(banner)?.[1];
    expect(chat).toMatch(new RegExp(`^${url}/s/demo\\?key=pk_`));
    const page = await fetch(chat!);
    expect(page.status).toBe(200);
    await page.arrayBuffer();
    expect(await origin.stop()).toBe(0);
  }, 300_000);

  it('second start: no question, and the banner again with the chat address', async () => {
    const before = hub.log.length;
    origin = startInTerminal(env('accept', { DEMO_SITE: 'auto' }));
    const screen = await origin.waitFor(BANNER);
    expect(screen).not.toContain('[Y/n]');
    expect(hub.log.length).toBe(before);
    const banner = screen.slice(screen.lastIndexOf('ragedge '));
    expect(banner).toMatch(/Chat with demo: http:\/\/127\.0\.0\.1:\d+\/s\/demo\?key=pk_/);
    expect(banner).toContain(`Admin token:    in ${join(dir, 'accept', 'data', 'admin-token')}`);
    expect(banner).not.toContain('generated');
    // Seeded with the fetched model, which still serves: nothing to re-embed.
    expect(banner).not.toContain('reindex --site demo');
    expect(await origin.stop()).toBe(0);
  }, 300_000);

  it('declined: the offline embedder serves, and one line says how to upgrade', async () => {
    origin = startInTerminal(env('decline', { DEMO_SITE: 'off' }));
    await origin.waitFor(/\[Y\/n\] /);
    hub.log.length = 0;
    origin.type('n\r');
    const screen = await origin.waitFor(BANNER);
    const hint =
      'for better answers run `npm run models:fetch`, restart, then `npm run rag -- reindex --site <name>` for each site';
    expect(screen).toContain(`Serving the offline hash embedder; ${hint}.`);
    expect(screen).toContain(`Embeddings:  offline hash embedder; ${hint}`);
    expect(screen).toContain('Next:        npm run rag -- ingest <folder> --site <name>');
    expect(hub.log).toEqual([]);
    expect(existsSync(join(dir, 'decline', 'models'))).toBe(false);
    expect(await origin.stop()).toBe(0);
  }, 300_000);

  it('not at a terminal: JSON logs, no question, nothing fetched', async () => {
    hub.log.length = 0;
    const piped = await startOrigin(env('piped'), 150_000);
    try {
      const embedder = piped.logs.find((line) => line.includes('"embedder ready"'));
      expect(JSON.parse(embedder!)).toMatchObject({ embedder: 'hash-v1' });
      expect(piped.logs.join('\n')).not.toContain('[Y/n]');
      expect(hub.log).toEqual([]);
      expect(existsSync(join(dir, 'piped', 'models'))).toBe(false);
    } finally {
      await piped.stop();
    }
  }, 300_000);
});
