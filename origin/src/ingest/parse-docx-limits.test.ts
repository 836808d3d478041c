import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import { docxFixture, hostileDocx } from './fixtures/zip.js';
import { parseDocument } from './parse.js';

/** The error a parse ends with, and how long it took. */
async function refusal(promise: Promise<unknown>): Promise<{ error: AppError; ms: number }> {
  const started = performance.now();
  try {
    await promise;
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    return { error, ms: performance.now() - started };
  }
  throw new Error('the document was accepted');
}

describe('Word documents are held to the parse limits', () => {
  it('refuses a bomb that lies about its size as soon as it passes the size it declares', async () => {
    const bomb = hostileDocx.lyingBomb(300);
    expect(bomb.byteLength).toBeLessThan(2 * 1024 * 1024); // 300 MB of XML from ~1 MB
    const rssBefore = process.memoryUsage().rss;
    const { error, ms } = await refusal(parseDocument('docx', bomb, 'bomb.docx'));
    expect(error.code).toBe('unprocessable_document');
    expect(error.message).toMatch(
      /^bomb\.docx: .*word\/document\.xml unpacks to more than it declares/,
    );
    // Inflated only up to the declared 2 kB: no 300 MB buffer, no seconds of work.
    expect(ms).toBeLessThan(2_000);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(100 * 1024 * 1024);
  });

  it('refuses XML nested deeper than the limit before any parser builds it', async () => {
    const deep = hostileDocx.nestedTables(5_000); // 15,000 elements deep
    const { error, ms } = await refusal(parseDocument('docx', deep, 'deep.docx'));
    expect(error.code).toBe('unprocessable_document');
    expect(error.message).toMatch(/deep\.docx nests elements more than 512 deep/);
    expect(ms).toBeLessThan(2_000);
    const { error: custom } = await refusal(
      parseDocument('docx', hostileDocx.nestedTables(40), 'deep.docx', { maxHtmlDepth: 64 }),
    );
    expect(custom.message).toMatch(/more than 64 deep/);
  });

  it('reads tables nested a sensible depth', async () => {
    const doc = await parseDocument('docx', hostileDocx.nestedTables(20), 'tables.docx');
    expect(doc.blocks.map((block) => block.text).join(' ')).toContain('deep cell');
  });

  it('refuses text past the limit, counted before conversion, under the default and a set limit', async () => {
    const long = hostileDocx.longText(20_000_001);
    expect(long.byteLength).toBeLessThan(100_000);
    const { error } = await refusal(parseDocument('docx', long, 'long.docx'));
    expect(error.code).toBe('unprocessable_document');
    expect(error.message).toMatch(/long\.docx holds more than 20,000,000 characters of text/);
    const { error: small } = await refusal(
      parseDocument('docx', hostileDocx.longText(5_001), 'long.docx', { maxTextChars: 5_000 }),
    );
    expect(small.message).toMatch(/more than 5,000 characters/);
    const fits = await parseDocument('docx', hostileDocx.longText(4_000), 'ok.docx', {
      maxTextChars: 5_000,
    });
    expect(fits.blocks[0]?.text).toHaveLength(4_000);
  });

  it('still reads an ordinary document, stored or deflated', async () => {
    const doc = await parseDocument(
      'docx',
      docxFixture('Valves', ['Check them weekly.']),
      'v.docx',
    );
    expect(doc.blocks.map((block) => block.text)).toEqual(['Valves', 'Check them weekly.']);
  });
});
