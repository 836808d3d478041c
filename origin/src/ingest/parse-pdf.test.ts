import { deflateSync } from 'node:zlib';
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

/**
 * A small PDF of `pages` pages that all draw one shared FlateDecode content stream of a page
 * full of text: a few kilobytes on the wire, megabytes of text once read.
 */
function inflateBombPdf(pages: number): Uint8Array {
  const content = Buffer.from(
    `BT /F1 12 Tf 14 TL 72 720 Td ${`(${'A'.repeat(80)}) Tj T* `.repeat(50)}ET`,
  );
  const packed = deflateSync(content, { level: 9 });
  const kids = Array.from({ length: pages }, (_, i) => `${i + 5} 0 R`).join(' ');
  const objects: Array<string | Buffer> = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    `<< /Type /Pages /Kids [${kids}] /Count ${pages} >>`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
    packed,
    ...Array.from(
      { length: pages },
      () =>
        '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 3 0 R >> >> >>',
    ),
  ];
  const parts: Buffer[] = [];
  const offsets: number[] = [];
  let length = 0;
  const add = (part: Buffer | string) => {
    const buffer = typeof part === 'string' ? Buffer.from(part, 'latin1') : part;
    parts.push(buffer);
    length += buffer.length;
  };
  add('%PDF-1.4\n');
  objects.forEach((body, i) => {
    offsets.push(length);
    add(`${i + 1} 0 obj\n`);
    if (typeof body === 'string') add(body);
    else {
      add(`<< /Length ${body.length} /Filter /FlateDecode >>\nstream\n`);
      add(body);
      add('\nendstream');
    }
    add('\nendobj\n');
  });
  const xref = length;
  add(`xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`);
  for (const offset of offsets) add(`${String(offset).padStart(10, '0')} 00000 n \n`);
  add(`trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`);
  return new Uint8Array(Buffer.concat(parts));
}

describe('a PDF whose streams inflate far past its size', () => {
  it('is refused once its text passes maxTextChars, with a clear 422', async () => {
    const bomb = inflateBombPdf(400);
    // 63 kB of page objects; its text would be 1.6 million characters.
    expect(bomb.byteLength).toBeLessThan(100_000);
    const error = await pdfErrorOf(bomb, { maxTextChars: 1_000_000 });
    expect(error.status).toBe(422);
    expect(error.message).toMatch(/report\.pdf holds more than 1,000,000 characters of text/);
  });

  it('is read when its text is within the limit', async () => {
    const parsed = await parsePdf(inflateBombPdf(3), { maxTextChars: 1_000_000 });
    expect(parsed.blocks.map((b) => b.text).join('').length).toBeGreaterThanOrEqual(3 * 3_000);
  });
});
