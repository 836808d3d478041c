import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import { docxFixture, storedZip } from './fixtures/zip.js';
import { formatFromFileName, formatFromMediaType } from './formats.js';
import { parseDocument } from './parse.js';
import { declaredUnpackedBytes } from './parse-docx.js';

const codeOf = async (promise: Promise<unknown>) => {
  try {
    await promise;
    return 'resolved';
  } catch (error) {
    return error instanceof AppError ? error.code : String(error);
  }
};

describe('docx and csv formats', () => {
  it('are known by extension and by media type', () => {
    expect(formatFromFileName('Report.DOCX')).toBe('docx');
    expect(formatFromFileName('prices.csv')).toBe('csv');
    expect(formatFromMediaType('text/csv; charset=utf-8', 'https://a.test/x')).toBe('csv');
    expect(
      formatFromMediaType(
        'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
        'https://a.test/x',
      ),
    ).toBe('docx');
    expect(formatFromMediaType('text/plain', 'https://a.test/readme.md')).toBe('markdown');
    expect(formatFromMediaType('image/png', 'https://a.test/x.png')).toBeNull();
  });

  it('reads a Word document: its heading titles it, its paragraphs become blocks', async () => {
    const doc = await parseDocument(
      'docx',
      docxFixture('Pump Manual', ['Check the valves weekly.', 'Log the pressure daily.']),
      'manual.docx',
    );
    expect(doc.title).toBe('Pump Manual');
    expect(doc.blocks).toEqual([
      { kind: 'heading', level: 1, text: 'Pump Manual' },
      { kind: 'text', text: 'Check the valves weekly.' },
      { kind: 'text', text: 'Log the pressure daily.' },
    ]);
  });

  it('refuses a .docx that is not a ZIP, a broken archive, and a declared bomb', async () => {
    expect(await codeOf(parseDocument('docx', Buffer.from('hello'), 'x.docx'))).toBe(
      'unsupported_media_type',
    );
    expect(
      await codeOf(parseDocument('docx', storedZip({ 'a.txt': 'no word here' }), 'x.docx')),
    ).toBe('unprocessable_document');
    expect(await codeOf(parseDocument('docx', 'text', 'x.docx'))).toBe('unsupported_media_type');
    const bomb = Buffer.from(storedZip({ 'word/document.xml': 'x' }));
    const central = bomb.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    bomb.writeUInt32LE(0xffffffff, central + 24); // declares 4 GB unpacked
    expect(declaredUnpackedBytes(bomb)).toBe(0xffffffff);
    expect(await codeOf(parseDocument('docx', bomb, 'bomb.docx'))).toBe('unprocessable_document');
  });

  it('reads a CSV table row by row with its column names', async () => {
    const csv = 'name,price,notes\n"Widget, large",12.50,"says ""hi"""\n\nGadget,3,\n';
    const doc = await parseDocument('csv', Buffer.from(csv), 'prices.csv');
    expect(doc.blocks).toEqual([
      { kind: 'text', text: 'name: Widget, large; price: 12.50; notes: says "hi"' },
      { kind: 'text', text: 'name: Gadget; price: 3' },
    ]);
  });

  it('refuses malformed CSV, binary bytes and invalid UTF-8 with a 4xx code', async () => {
    expect(await codeOf(parseDocument('csv', Buffer.from('a,b\n"unterminated,1\n'), 'x.csv'))).toBe(
      'unprocessable_document',
    );
    expect(
      await codeOf(parseDocument('csv', Buffer.from([0x89, 0x50, 0x4e, 0x47, 1]), 'x.csv')),
    ).toBe('unsupported_media_type');
    expect(await codeOf(parseDocument('csv', Buffer.from([0x61, 0xff, 0x62]), 'x.csv'))).toBe(
      'invalid_encoding',
    );
  });
});
