import { afterEach, describe, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import { ParseThread } from './parse-thread.js';

const chunking = { maxTokens: 256, overlapTokens: 32 };

describe('ParseThread', () => {
  let thread: ParseThread | undefined;
  afterEach(async () => {
    await thread?.close();
  });

  it('parses and chunks in a worker thread, and refuses what the limits refuse with a 422', async () => {
    thread = new ParseThread({
      timeoutMs: 20_000,
      maxMemoryMb: 256,
      parse: { maxHtmlDepth: 64 },
      chunking,
    });
    const { parsed, chunks } = await thread.parse('markdown', '# Title\n\nSome text here.', 'a.md');
    expect(parsed.title).toBe('Title');
    expect(chunks.map((c) => c.text).join(' ')).toContain('Some text here.');
    const refused = thread.parse('html', '<div>'.repeat(100), 'deep.html');
    await expect(refused).rejects.toBeInstanceOf(AppError);
    await expect(refused).rejects.toMatchObject({ status: 422, message: /more than 64 deep/ });
    await expect(
      thread.parse('text', new Uint8Array([0x61, 0, 0x62]), 'bin.txt'),
    ).rejects.toMatchObject({
      status: 415,
    });
  });

  it("reads a page's links and canonical URL in the thread, between parses", async () => {
    thread = new ParseThread({ timeoutMs: 30_000, maxMemoryMb: 256, parse: {}, chunking });
    const html = new TextEncoder().encode(
      '<html><head><link rel="canonical" href="/docs/a"></head><body>' +
        '<a href="b?utm_source=x#top">B</a><a href="https://elsewhere.test/">E</a>' +
        '<a rel="nofollow" href="/docs/c">C</a></body></html>',
    );
    const [links, parsed] = await Promise.all([
      thread.links(html, 'https://a.test/docs/a?ref=1'),
      thread.parse('markdown', '# T\n\nText.', 't.md'),
    ]);
    expect(links).toEqual({
      canonical: 'https://a.test/docs/a',
      links: ['https://a.test/docs/b', 'https://elsewhere.test/'],
    });
    expect(parsed.chunks.length).toBe(1);
  });

  it('stops a parse past its time with a 422, and parses the next document in a fresh thread', async () => {
    thread = new ParseThread({ timeoutMs: 300, maxMemoryMb: 256, parse: {}, chunking });
    // Linear, but far more than 300 ms of work.
    const slow = thread.parse('markdown', '*a _b [c '.repeat(600_000), 'slow.md');
    await expect(slow).rejects.toMatchObject({
      status: 422,
      message: /slow\.md took longer than 0\.3 s/,
    });
    const next = await thread.parse('text', 'still here', 'next.txt');
    expect(next.chunks).toHaveLength(1);
  }, 30_000);
});
