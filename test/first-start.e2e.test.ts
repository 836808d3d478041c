import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DB } from '../origin/test/harness.js';
import { answerText, readSse } from '../origin/test/sse.js';
import { type OriginProcess, startOrigin } from './origin-process.js';

/**
 * The README's first command, `npm start`, on a fresh machine: the embedded default fills a demo
 * site with the project's own documentation and prints the chat page's address, which works.
 * It is about the embedded default only, so it runs in the PGlite pass of the suite.
 */
describe.skipIf(TEST_DB !== 'pglite')('a first start of the embedded default', () => {
  let dir: string;
  let origin: OriginProcess;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ragedge-first-start-'));
    const site = join(dir, 'site');
    mkdirSync(site);
    writeFileSync(join(site, 'index.html'), '<!doctype html><title>chat</title>');
    origin = await startOrigin({ DATA_DIR: join(dir, 'data'), SITE_DIR: site, DEMO_SITE: 'auto' });
  });

  afterAll(async () => {
    await origin?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints a chat address whose page and key answer a question from the README', async () => {
    const line = origin.logs.find((l) => l.includes('chat with the demo site'));
    expect(line).toBeDefined();
    const address = /(http:\/\/[^\s"]+)/.exec(line!)![1]!;
    const page = new URL(address);
    expect(page.origin).toBe(origin.url);
    expect(page.pathname).toBe('/s/demo');
    const html = await fetch(address);
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toMatch(/text\/html/);
    // Idle connections outlive a proxy's (nginx keeps upstream connections 60 s): see http-server.ts.
    expect(html.headers.get('keep-alive')).toBe('timeout=65');

    // What the chat page does: same-origin POST with the key from its address.
    const response = await fetch(`${origin.url}/api/v1/sites/demo/chat`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        origin: origin.url,
        'x-site-key': page.searchParams.get('key')!,
      },
      body: JSON.stringify({ message: 'How do I run the whole test suite?' }),
    });
    expect(response.status).toBe(200);
    const items = await readSse(response.body!, { timeoutMs: 30_000 });
    const sources = items.find((item) => item.event === 'sources')?.data as {
      sources: Array<{ title: string }>;
    };
    expect(sources.sources.map((s) => s.title)).toContain('README');
    expect(answerText(items)).toMatch(/npm test/);
    expect(items.at(-1)?.event).toBe('done');
  });

  it('does not fill the demo site again on the next start', async () => {
    await origin.stop();
    origin = await startOrigin({
      DATA_DIR: join(dir, 'data'),
      SITE_DIR: join(dir, 'site'),
      DEMO_SITE: 'auto',
    });
    expect(origin.logs.some((l) => l.includes('demo site created'))).toBe(false);
    const sites = await fetch(`${origin.url}/api/v1/health`);
    expect(sites.status).toBe(200);
  });
});
