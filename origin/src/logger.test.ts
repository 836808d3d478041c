import { Writable } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createLogger, logFormat } from './logger.js';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(stripVTControlCharacters(String(chunk)));
      callback();
    },
  });
  return { lines, stream };
}

describe('logger', () => {
  it('is readable lines on a terminal and JSON elsewhere, unless LOG_FORMAT says', () => {
    expect(logFormat('auto', true)).toBe('pretty');
    expect(logFormat('auto', false)).toBe('json');
    expect(logFormat('json', true)).toBe('json');
    expect(logFormat('pretty', false)).toBe('pretty');
  });

  it('writes a readable line, with secrets redacted as in JSON', () => {
    const { lines, stream } = capture();
    const logger = createLogger('info', stream, 'pretty');
    logger.info({ adminToken: 'tok_secret_value', site: 'demo' }, 'origin listening');
    const text = lines.join('');
    expect(text).toMatch(/^\[\d\d:\d\d:\d\d\] INFO: origin listening/);
    expect(text).toContain('"site":"demo"');
    expect(text).not.toContain('tok_secret_value');
    expect(text).not.toContain('"level"');
  });
});
