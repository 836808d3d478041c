import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  htmlPage,
  type SitePage,
  setSitemap,
  startWebServer,
  type TestWebServer,
} from '../../test/web-site.js';
import { docxFixture } from '../src/ingest/fixtures/zip.js';
import { formWith, makePdf } from './fixtures.js';
import { type Harness, startHarness } from './harness.js';

describe(`web sources: bad input, refusals and failed syncs (${process.env.TEST_DB ?? 'pglite'})`, () => {
  let h: Harness;
  let web: TestWebServer;
  const sitemap = () => `${web.origin}/sitemap.xml`;

  beforeAll(async () => {
    const pages = new Map<string, SitePage>();
    for (const n of [1, 2, 3]) {
      pages.set(`/docs/p${n}`, {
        body: htmlPage(`P${n}`, `<h1>P${n}</h1><p>Page ${n} text about otters.</p>`, []),
        type: 'text/html',
      });
    }
    setSitemap(pages);
    web = await startWebServer(pages);
    h = await startHarness({
      env: { CRAWL_ALLOW_HOSTS: '127.0.0.1', SYNC_SCHEDULER_MS: '0', SYNC_MAX_PAGES: '500' },
    });
    await h.createSite('docs');
  });
  afterAll(async () => {
    await h?.close();
    await web?.close();
  });

  const expectError = async (
    response: Response | Awaited<ReturnType<Harness['request']>>,
    status: number,
    code: string,
    message?: RegExp,
  ) => {
    expect(response.status).toBe(status);
    const body = await response.json();
    expect(body.error.code).toBe(code);
    expect(typeof body.error.requestId).toBe('string');
    if (message !== undefined) expect(body.error.message).toMatch(message);
    expect(JSON.stringify(body)).not.toMatch(/at .*\.ts:\d+/);
  };

  it('needs the admin token on every source route', async () => {
    for (const [method, path] of [
      ['GET', '/api/v1/sites/docs/sources'],
      ['POST', '/api/v1/sites/docs/sources'],
      ['DELETE', '/api/v1/sites/docs/sources/1'],
      ['POST', '/api/v1/sites/docs/sync'],
    ] as const) {
      const json = method === 'GET' ? undefined : {};
      await expectError(await h.request(method, path, { token: null, json }), 401, 'unauthorized');
      await expectError(
        await h.request(method, path, { token: 'wrong-token-wrong-token-00', json }),
        403,
        'forbidden',
      );
    }
  });

  it('refuses bad source definitions with a 400 naming the field', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ sitemap: sitemap(), url: `${web.origin}/docs/` }, /sitemap: give either/],
      [{}, /sitemap: give either/],
      [{ sitemap: 'ftp://a.test/sitemap.xml' }, /sitemap: must be an http\(s\) URL/],
      [{ sitemap: sitemap(), maxPages: 501 }, /maxPages/],
      [{ sitemap: sitemap(), maxPages: 0 }, /maxPages/],
      [{ url: `${web.origin}/docs/`, pathPrefix: 'docs' }, /pathPrefix: must start with \//],
      [
        { sitemap: sitemap(), header: { name: 'Cookie', value: 'a=b' } },
        /header.name: is a header the fetcher sets itself/,
      ],
      [
        { sitemap: sitemap(), header: { name: 'X-Token', value: 'a\r\nHost: evil' } },
        /header.value: must not contain control characters/,
      ],
      [{ sitemap: sitemap(), header: { name: 'Bad Name', value: 'x' } }, /header.name/],
      [{ sitemap: sitemap(), intervalSeconds: 0 }, /intervalSeconds/],
      [{ sitemap: sitemap(), include: ['a\u0000b'] }, /include/],
      [{ sitemap: sitemap(), surprise: true }, /Unrecognized key/i],
    ];
    for (const [json, message] of cases) {
      await expectError(
        await h.request('POST', '/api/v1/sites/docs/sources', { json }),
        400,
        'validation_failed',
        message,
      );
    }
    await expectError(
      await h.request('POST', '/api/v1/sites/docs/sources', {
        body: 'sitemap=x',
        headers: { 'content-type': 'text/plain' },
      }),
      415,
      'unsupported_media_type',
    );
  });

  it('answers 404 for unknown sites and sources, and 409 for a source added twice', async () => {
    await expectError(
      await h.request('POST', '/api/v1/sites/nope/sources', { json: { sitemap: sitemap() } }),
      404,
      'not_found',
    );
    await expectError(
      await h.request('DELETE', '/api/v1/sites/docs/sources/999'),
      404,
      'not_found',
    );
    await expectError(
      await h.request('DELETE', '/api/v1/sites/docs/sources/abc'),
      400,
      'validation_failed',
    );
    await expectError(
      await h.request('POST', '/api/v1/sites/docs/sync', { json: {} }),
      404,
      'not_found',
      /no web sources/,
    );
    expect(
      (await h.request('POST', '/api/v1/sites/docs/sources', { json: { sitemap: sitemap() } }))
        .status,
    ).toBe(201);
    await expectError(
      await h.request('POST', '/api/v1/sites/docs/sources', { json: { sitemap: sitemap() } }),
      409,
      'conflict',
    );
    await expectError(
      await h.request('POST', '/api/v1/sites/docs/sync', { json: { sourceId: 999 } }),
      404,
      'not_found',
    );
    await expectError(
      await h.request('POST', '/api/v1/sites/docs/sync', { json: { dryRun: 'yes' } }),
      400,
      'validation_failed',
    );
  });

  it('a sitemap that fails stops the run and deletes nothing', async () => {
    const first = await h.request('POST', '/api/v1/sites/docs/sync', { json: {} });
    expect((await first.json()).runs[0].stats.added).toBe(3);
    const before = await h.counts();
    const saved = web.pages.get('/sitemap.xml')!;
    web.pages.delete('/sitemap.xml');
    await expectError(
      await h.request('POST', '/api/v1/sites/docs/sync', { json: {} }),
      503,
      'unavailable',
      /sitemap .* answered 404/,
    );
    expect(await h.counts()).toEqual(before);
    const { sources } = await (await h.request('GET', '/api/v1/sites/docs/sources')).json();
    expect(sources[0].status).toMatchObject({ lastStatus: 'failed', running: false });
    expect(sources[0].status.lastError).toMatch(/answered 404/);
    web.pages.set('/sitemap.xml', saved);
  });

  it('refuses a source on a private address that is not allowed, contacting nothing', async () => {
    await h.createSite('private');
    const created = await h.request('POST', '/api/v1/sites/private/sources', {
      json: { sitemap: 'http://10.9.8.7/sitemap.xml' },
    });
    expect(created.status).toBe(201);
    await expectError(
      await h.request('POST', '/api/v1/sites/private/sync', { json: {} }),
      503,
      'unavailable',
      /private address; refused/,
    );
  });

  it('stores uploaded .docx and .csv files like any document', async () => {
    const response = await h.request('POST', '/api/v1/sites/docs/documents', {
      body: formWith([
        {
          name: 'manual.docx',
          content: docxFixture('Otter Manual', ['Otters hold hands while sleeping.']),
        },
        { name: 'prices.csv', content: 'item,price\notter food,4.20\n' },
      ]),
    });
    expect(response.status).toBe(201);
    const { results } = await response.json();
    expect(
      results.map((r: { document: { format: string; title: string } }) => [
        r.document.format,
        r.document.title,
      ]),
    ).toEqual([
      ['docx', 'Otter Manual'],
      // A file with no title of its own is named by its file name, without the extension.
      ['csv', 'prices'],
    ]);
    await expectError(
      await h.request('POST', '/api/v1/sites/docs/documents', {
        body: formWith([{ name: 'fake.docx', content: 'plain text' }]),
      }),
      415,
      'unsupported_media_type',
    );
  });

  it('reads fetched pages by their content type: PDF, Markdown, CSV, Word; refuses the rest', async () => {
    const files: Array<[string, SitePage]> = [
      [
        '/f/guide.pdf',
        { body: makePdf([['Otters float on their backs.']]), type: 'application/pdf' },
      ],
      [
        '/f/notes',
        { body: '# Notes\n\nOtters eat sea urchins.', type: 'text/markdown; charset=utf-8' },
      ],
      ['/f/readme.md', { body: '# Readme\n\nOtters groom daily.', type: 'text/plain' }],
      ['/f/data.csv', { body: 'animal,food\notter,urchin\n', type: 'text/csv' }],
      [
        '/f/manual.docx',
        {
          body: docxFixture('Otter Care', ['Keep the water cold.']),
          type: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
        },
      ],
      ['/f/photo.png', { body: new Uint8Array([0x89, 0x50, 0x4e, 0x47]), type: 'image/png' }],
    ];
    for (const [path, page] of files) web.pages.set(path, page);
    const urls = files.map(([path]) => `<url><loc>http://placeholder${path}</loc></url>`).join('');
    web.pages.set('/formats.xml', {
      body: `<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">${urls}</urlset>`,
      type: 'application/xml',
    });
    await h.createSite('formats');
    await h.request('POST', '/api/v1/sites/formats/sources', {
      json: { sitemap: `${web.origin}/formats.xml` },
    });
    const { runs } = await (
      await h.request('POST', '/api/v1/sites/formats/sync', { json: {} })
    ).json();
    expect(runs[0].stats).toMatchObject({ added: 5, failed: 1 });
    expect(runs[0].failures).toEqual([
      { url: `${web.origin}/f/photo.png`, reason: 'unsupported content type image/png' },
    ]);
    const { rows } = await h.services.db.pool.query<{ url: string; format: string }>(
      `select d.url, d.format from documents d join sites s on s.id = d.site_id
       where s.name = 'formats' order by d.url`,
    );
    expect(rows.map((r) => [r.url.replace(web.origin, ''), r.format])).toEqual([
      ['/f/data.csv', 'csv'],
      ['/f/guide.pdf', 'pdf'],
      ['/f/manual.docx', 'docx'],
      ['/f/notes', 'markdown'],
      ['/f/readme.md', 'markdown'],
    ]);
  });
});
