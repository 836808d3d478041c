import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import { minimalPdf } from './fixtures/minimal-pdf.js';
import { parsePdf } from './parse-pdf.js';

async function pdfErrorOf(bytes: Uint8Array, options = {}): Promise<AppError> {
  const error = await parsePdf(bytes, { label: 'report.pdf', ...options }).then(
    () => null,
    (e: unknown) => e,
  );
  if (error instanceof AppError) return error;
  throw new Error(`expected an AppError, got ${String(error)}`);
}

describe('parsePdf', () => {
  const unhandled: unknown[] = [];
  const record = (reason: unknown) => unhandled.push(reason);
  beforeAll(() => {
    process.on('unhandledRejection', record);
  });
  afterAll(() => {
    process.off('unhandledRejection', record);
  });

  it('extracts the text of a real minimal PDF, and its Title metadata', async () => {
    const doc = await parsePdf(minimalPdf({ title: 'Greeting', pages: [['Hello PDF world']] }));
    expect(doc).toEqual({ title: 'Greeting', blocks: [{ kind: 'text', text: 'Hello PDF world' }] });
  });

  it('builds paragraphs from line gaps, page by page, rejoining hyphenated words', async () => {
    const pages = [
      ['First para-', 'graph goes on.', '', 'Second paragraph.'],
      ['Page two.', '- item one', '- item two'],
    ];
    const doc = await parsePdf(minimalPdf({ pages }));
    expect(doc.title).toBeNull();
    expect(doc.blocks.map((b) => b.text)).toEqual([
      'First paragraph goes on.',
      'Second paragraph.',
      'Page two.\n- item one\n- item two',
    ]);
  });

  it('leaves the caller’s bytes intact (pdf.js would detach the buffer it is given)', async () => {
    const bytes = minimalPdf({ pages: [['x']] });
    await parsePdf(bytes);
    expect(bytes.byteLength).toBeGreaterThan(0);
    expect(new TextDecoder().decode(bytes.subarray(0, 5))).toBe('%PDF-');
  });

  it('refuses a truncated PDF as unprocessable, with a short message', async () => {
    const whole = minimalPdf({ pages: [['Hello PDF world']] });
    const error = await pdfErrorOf(whole.slice(0, 120));
    expect(error.code).toBe('unprocessable_document');
    expect(error.message).toBe(
      'could not read report.pdf as a PDF: the file is damaged or truncated',
    );
  });

  it('refuses garbage behind a PDF header, and bytes that are not a PDF at all', async () => {
    const garbage = new TextEncoder().encode(`%PDF-1.7\n${'\u0001garbage'.repeat(200)}`);
    expect((await pdfErrorOf(garbage)).code).toBe('unprocessable_document');
    const html = new TextEncoder().encode('<html><body>not a pdf</body></html>');
    expect((await pdfErrorOf(html)).code).toBe('unprocessable_document');
    expect((await pdfErrorOf(new Uint8Array(0))).code).toBe('unprocessable_document');
  });

  it('refuses a PDF encrypted with a password it does not have', async () => {
    const error = await pdfErrorOf(minimalPdf({ encrypted: true, pages: [['secret']] }));
    expect(error.code).toBe('unprocessable_document');
    expect(error.message).toContain('encrypted');
  });

  it('refuses a PDF with more pages than allowed', async () => {
    const error = await pdfErrorOf(minimalPdf({ pages: [['a'], ['b'], ['c']] }), { maxPages: 2 });
    expect(error.code).toBe('unprocessable_document');
    expect(error.message).toContain('3 pages');
  });

  it('leaves no unhandled rejection behind after all those failures', async () => {
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(unhandled).toEqual([]);
  });
});
