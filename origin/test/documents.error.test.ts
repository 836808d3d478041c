import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostileDocx } from '../src/ingest/fixtures/zip.js';
import { formWith, GUIDE_MD, makePdf } from './fixtures.js';
import { type Harness, startHarness, type TestResponse } from './harness.js';

describe(`documents, bad input (${process.env.TEST_DB ?? 'pglite'})`, () => {
  let h: Harness;
  let stored: { documents: number; chunks: number };
  beforeAll(async () => {
    h = await startHarness();
    await h.createSite('docs');
    const seed = await h.request('POST', '/api/v1/sites/docs/documents', {
      json: { title: 'Guide', content: GUIDE_MD },
    });
    expect(seed.status).toBe(201);
    stored = await h.counts();
  });
  afterAll(async () => {
    await h?.close();
  });

  const path = '/api/v1/sites/docs/documents';
  const upload = (name: string, content: string | Uint8Array) =>
    h.request('POST', path, { body: formWith([{ name, content }]) });

  const cases: Array<[string, () => Promise<TestResponse>, number, string, RegExp?]> = [
    [
      'an empty body',
      () => h.request('POST', path, { headers: { 'content-type': 'application/json' } }),
      400,
      'bad_request',
    ],
    [
      'malformed JSON',
      () =>
        h.request('POST', path, {
          body: '{"title": "x",',
          headers: { 'content-type': 'application/json' },
        }),
      400,
      'bad_request',
    ],
    ['a JSON array', () => h.request('POST', path, { json: [1, 2] }), 400, 'validation_failed'],
    [
      'an unknown site',
      () =>
        h.request('POST', '/api/v1/sites/nope/documents', { json: { title: 'T', content: 'x' } }),
      404,
      'not_found',
    ],
    [
      'an invalid site name',
      () =>
        h.request('POST', '/api/v1/sites/NOT..valid/documents', {
          json: { title: 'T', content: 'x' },
        }),
      400,
      'validation_failed',
      /^site: /,
    ],
    [
      'a wrong content type',
      () => h.request('POST', path, { body: 'hello', headers: { 'content-type': 'text/plain' } }),
      415,
      'unsupported_media_type',
    ],
    [
      'a missing title',
      () => h.request('POST', path, { json: { content: 'words' } }),
      400,
      'validation_failed',
      /^title: /,
    ],
    [
      'a title of 10,000 characters',
      () => h.request('POST', path, { json: { title: 'x'.repeat(10_000), content: 'words' } }),
      400,
      'validation_failed',
      /^title: .*500/,
    ],
    [
      'empty content',
      () => h.request('POST', path, { json: { title: 'T', content: '' } }),
      400,
      'validation_failed',
      /^content: /,
    ],
    [
      'content with only whitespace',
      () => h.request('POST', path, { json: { title: 'Blank', content: ' \n\n\t ' } }),
      422,
      'unprocessable_document',
    ],
    [
      'text with NUL bytes',
      () => h.request('POST', path, { json: { title: 'T', content: 'a\u0000b' } }),
      400,
      'invalid_encoding',
    ],
    [
      'a JSON body that is not UTF-8',
      () =>
        h.request('POST', path, {
          body: new Uint8Array([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d]),
          headers: { 'content-type': 'application/json' },
        }),
      400,
      'invalid_encoding',
    ],
    [
      'an unknown field',
      () => h.request('POST', path, { json: { title: 'T', content: 'x', owner: 'me' } }),
      400,
      'validation_failed',
    ],
    [
      'a javascript: URL',
      () =>
        h.request('POST', path, { json: { title: 'T', content: 'x', url: 'javascript:alert(1)' } }),
      400,
      'validation_failed',
      /^url: /,
    ],
    [
      'nested metadata',
      () =>
        h.request('POST', path, { json: { title: 'T', content: 'x', metadata: { a: { b: 1 } } } }),
      400,
      'validation_failed',
      /^metadata\.a: /,
    ],
    [
      'an unsupported file type',
      () => upload('setup.exe', 'MZ binary'),
      415,
      'unsupported_media_type',
      /\.exe/,
    ],
    [
      'a .pdf that is not a PDF',
      () => upload('report.pdf', 'just some text'),
      415,
      'unsupported_media_type',
      /report\.pdf/,
    ],
    [
      'a .md that is a PDF',
      () => upload('notes.md', makePdf([['hello']])),
      415,
      'unsupported_media_type',
    ],
    [
      'a corrupt PDF',
      () => upload('broken.pdf', '%PDF-1.4\n1 0 obj << /Type /Catalog >>\ngarbage garbage'),
      422,
      'unprocessable_document',
      /broken\.pdf/,
    ],
    [
      'a truncated PDF',
      () => upload('cut.pdf', makePdf([['some text here']]).slice(0, 200)),
      422,
      'unprocessable_document',
    ],
    [
      'a text file with invalid UTF-8',
      () => upload('latin.txt', new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x20, 0x28])),
      400,
      'invalid_encoding',
      /latin\.txt/,
    ],
    [
      'a text file with NUL bytes',
      () => upload('nul.txt', new Uint8Array([0x61, 0x00, 0x62])),
      415,
      'unsupported_media_type',
    ],
    [
      'a multipart body without a file',
      () => h.request('POST', path, { body: formWith([], { title: 'x' }) }),
      400,
      'validation_failed',
      /^file: /,
    ],
    [
      'a title on a multi-file upload',
      () =>
        h.request('POST', path, {
          body: formWith(
            [
              { name: 'a.md', content: 'a' },
              { name: 'b.md', content: 'b' },
            ],
            { title: 'x' },
          ),
        }),
      400,
      'validation_failed',
    ],
    [
      'malformed metadata in a form',
      () =>
        h.request('POST', path, {
          body: formWith([{ name: 'a.md', content: 'a' }], { metadata: '{oops' }),
        }),
      400,
      'validation_failed',
      /^metadata: /,
    ],
    [
      'a .docx zip bomb that lies about its size',
      () => upload('bomb.docx', hostileDocx.lyingBomb(300)),
      422,
      'unprocessable_document',
      /^bomb\.docx: .*unpacks to more than it declares/,
    ],
    [
      'a .docx nested 15,000 elements deep',
      () => upload('deep.docx', hostileDocx.nestedTables(5_000)),
      422,
      'unprocessable_document',
      /^deep\.docx nests elements more than 512 deep/,
    ],
    [
      'a .docx of more than 20,000,000 characters',
      () => upload('long.docx', hostileDocx.longText(20_000_001)),
      422,
      'unprocessable_document',
      /^long\.docx holds more than 20,000,000 characters/,
    ],
    [
      'a multipart body that is cut off',
      () =>
        h.request('POST', path, {
          body: '--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.md"\r\n\r\nabc',
          headers: { 'content-type': 'multipart/form-data; boundary=xyz' },
        }),
      400,
      'bad_request',
    ],
  ];

  for (const [name, send, status, code, message] of cases) {
    it(`answers ${name} with ${status} ${code} and stores nothing`, async () => {
      const response = await send();
      expect(response.status).toBe(status);
      const body = await response.json();
      expect(body.error.code).toBe(code);
      expect(body.error.requestId).toBe(response.headers.get('x-request-id'));
      if (message !== undefined) expect(body.error.message).toMatch(message);
      expect(await h.counts()).toEqual(stored);
    });
  }

  it('refuses a whole multi-file upload when one file is bad, storing none of it', async () => {
    const response = await h.request('POST', path, {
      body: formWith([
        { name: 'good.md', content: '# Good\n\nA fine file.' },
        { name: 'bad.pdf', content: 'not a pdf' },
      ]),
    });
    expect(response.status).toBe(415);
    expect(await h.counts()).toEqual(stored);
  });

  it('answers a 60 MB upload with 413 and stores nothing', async () => {
    const big = new Uint8Array(60 * 1024 * 1024).fill(0x61);
    const response = await upload('big.txt', big);
    expect(response.status).toBe(413);
    expect((await response.json()).error.code).toBe('payload_too_large');
    expect(await h.counts()).toEqual(stored);
  });

  it('keeps the last segment as the file name, and a path that never climbs as the source', async () => {
    const response = await upload('../../etc/passwd.md', '# Not a path\n\nJust words.');
    expect(response.status).toBe(201);
    const { results } = await response.json();
    expect(results[0].document.fileName).toBe('passwd.md');
    expect(results[0].document.source).toBe('etc/passwd.md');
    const cleanup = await h.request('DELETE', `${path}/${results[0].document.id}`);
    expect(cleanup.status).toBe(204);
  });
});
