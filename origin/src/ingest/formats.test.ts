import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import {
  assertCleanText,
  checkContentMatchesFormat,
  decodeUtf8Strict,
  formatFromFileName,
} from './formats.js';

const bytes = (...values: number[]) => new Uint8Array(values);
const utf8 = (text: string) => new TextEncoder().encode(text);

function appErrorOf(run: () => unknown): AppError {
  try {
    run();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected an AppError');
}

describe('formatFromFileName', () => {
  it('maps each accepted extension, whatever its case', () => {
    expect(formatFromFileName('notes.txt')).toBe('text');
    expect(formatFromFileName('README.MD')).toBe('markdown');
    expect(formatFromFileName('guide.markdown')).toBe('markdown');
    expect(formatFromFileName('page.Html')).toBe('html');
    expect(formatFromFileName('old.htm')).toBe('html');
    expect(formatFromFileName('report.v2.PDF')).toBe('pdf');
  });

  it('refuses other extensions, naming it and the accepted ones', () => {
    const error = appErrorOf(() => formatFromFileName('slides.pptx'));
    expect(error.code).toBe('unsupported_media_type');
    expect(error.message).toContain('.pptx');
    expect(error.message).toContain('.md');
    expect(error.message).toContain('.pdf');
  });

  it('refuses a name without an extension, and a dotfile', () => {
    expect(appErrorOf(() => formatFromFileName('Makefile')).code).toBe('unsupported_media_type');
    expect(appErrorOf(() => formatFromFileName('.md')).code).toBe('unsupported_media_type');
  });
});

describe('checkContentMatchesFormat', () => {
  it('accepts a PDF that starts with %PDF- and text that looks like text', () => {
    expect(() => checkContentMatchesFormat('pdf', utf8('%PDF-1.7\n...'), 'a.pdf')).not.toThrow();
    expect(() => checkContentMatchesFormat('markdown', utf8('# Title\n'), 'a.md')).not.toThrow();
    expect(() => checkContentMatchesFormat('text', new Uint8Array(0), 'empty.txt')).not.toThrow();
  });

  it('refuses a .pdf that is not a PDF', () => {
    const error = appErrorOf(() => checkContentMatchesFormat('pdf', utf8('hello'), 'report.pdf'));
    expect(error.code).toBe('unsupported_media_type');
    expect(error.message).toBe('report.pdf is not a PDF file');
  });

  it.each([
    ['a PDF', utf8('%PDF-1.4\n')],
    ['a ZIP', bytes(0x50, 0x4b, 0x03, 0x04, 0x14)],
    ['a PNG', bytes(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)],
    ['a JPEG', bytes(0xff, 0xd8, 0xff, 0xe0)],
    ['a GIF', utf8('GIF89a')],
  ])('refuses %s under a text name', (_kind, content) => {
    const error = appErrorOf(() => checkContentMatchesFormat('text', content, 'notes.txt'));
    expect(error.code).toBe('unsupported_media_type');
    expect(error.message).toMatch(/^notes\.txt is /);
  });

  it('refuses text with NUL bytes, as UTF-16 has', () => {
    const utf16 = bytes(0x48, 0x00, 0x69, 0x00);
    const error = appErrorOf(() => checkContentMatchesFormat('html', utf16, 'page.html'));
    expect(error.code).toBe('unsupported_media_type');
    expect(error.message).toContain('NUL');
  });
});

describe('decodeUtf8Strict', () => {
  it('decodes UTF-8 and strips a byte-order mark', () => {
    expect(decodeUtf8Strict(bytes(0xef, 0xbb, 0xbf, ...utf8('héllo')), 'a.txt')).toBe('héllo');
  });

  it('refuses invalid UTF-8 such as 0xC3 0x28, naming the file', () => {
    const error = appErrorOf(() => decodeUtf8Strict(bytes(0x61, 0xc3, 0x28), 'latin.txt'));
    expect(error.code).toBe('invalid_encoding');
    expect(error.message).toContain('latin.txt');
  });

  it('refuses Latin-1 text', () => {
    expect(appErrorOf(() => decodeUtf8Strict(bytes(0x63, 0x61, 0x66, 0xe9), 'x.txt')).code).toBe(
      'invalid_encoding',
    );
  });

  it('refuses U+0000', () => {
    expect(appErrorOf(() => decodeUtf8Strict(bytes(0x61, 0x00), 'nul.txt')).code).toBe(
      'invalid_encoding',
    );
  });
});

describe('assertCleanText', () => {
  it('passes ordinary text and refuses NUL characters', () => {
    expect(() => assertCleanText('fine ✓', 'body')).not.toThrow();
    const error = appErrorOf(() => assertCleanText('a\u0000b', 'content'));
    expect(error.code).toBe('invalid_encoding');
    expect(error.message).toContain('content');
  });
});
