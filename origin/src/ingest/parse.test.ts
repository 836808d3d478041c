import { describe, expect, it } from 'vitest';
import { minimalPdf } from './fixtures/minimal-pdf.js';
import { parseDocument } from './parse.js';

const utf8 = (text: string) => new TextEncoder().encode(text);

describe('parseDocument', () => {
  it('dispatches bytes and strings to the parser of the format', async () => {
    expect((await parseDocument('markdown', utf8('# T\n\nbody'), 'a.md')).title).toBe('T');
    expect((await parseDocument('html', '<title>H</title><p>x</p>', 'a.html')).title).toBe('H');
    expect((await parseDocument('text', 'a\n\nb', 'a.txt')).blocks).toHaveLength(2);
    const pdf = await parseDocument('pdf', minimalPdf({ pages: [['Hello PDF world']] }), 'a.pdf');
    expect(pdf.blocks).toEqual([{ kind: 'text', text: 'Hello PDF world' }]);
  });

  it('refuses bytes that are not what the format says, before parsing', async () => {
    await expect(parseDocument('pdf', utf8('# not a pdf'), 'report.pdf')).rejects.toMatchObject({
      code: 'unsupported_media_type',
      message: 'report.pdf is not a PDF file',
    });
    await expect(parseDocument('text', utf8('%PDF-1.4'), 'a.txt')).rejects.toMatchObject({
      code: 'unsupported_media_type',
    });
  });

  it('refuses invalid UTF-8 bytes and NUL characters in strings', async () => {
    await expect(
      parseDocument('text', new Uint8Array([0xc3, 0x28]), 'a.txt'),
    ).rejects.toMatchObject({
      code: 'invalid_encoding',
    });
    await expect(parseDocument('markdown', 'a\u0000b', 'content')).rejects.toMatchObject({
      code: 'invalid_encoding',
    });
  });

  it('refuses a PDF given as a string', async () => {
    await expect(parseDocument('pdf', '%PDF-1.4', 'a.pdf')).rejects.toMatchObject({
      code: 'unsupported_media_type',
    });
  });

  it('normalizes text to NFC, so that both forms of é index alike', async () => {
    const doc = await parseDocument('text', 'cafe\u0301', 'a.txt');
    expect(doc.blocks[0]!.text).toBe('caf\u00e9');
  });
});
