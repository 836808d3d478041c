import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHUNK_FORMAT } from '../src/ingest/chunk.js';
import { parseMarkdown } from '../src/ingest/parse-markdown.js';
import { formWith, GUIDE_MD, makePdf } from './fixtures.js';
import { type Harness, startHarness } from './harness.js';

describe(`documents (${process.env.TEST_DB ?? 'pglite'})`, () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { CHUNK_MAX_TOKENS: '64', CHUNK_OVERLAP_TOKENS: '8' } });
    await h.createSite('docs');
  });
  afterAll(async () => {
    await h?.close();
  });

  const chunksOf = async (documentId: number) =>
    (
      await h.services.db.pool.query<{
        id: number;
        position: number;
        heading_path: string[];
        content: string;
        context: string;
      }>(
        'select id, position, heading_path, content, context from chunks where document_id = $1 order by position',
        [documentId],
      )
    ).rows;

  const GUIDE = {
    title: 'Guide',
    content: GUIDE_MD,
    url: 'https://example.com/guide',
    metadata: { lang: 'en' },
  };
  let guideId: number;

  it('ingests a Markdown document into chunks that keep their heading path', async () => {
    const response = await h.request('POST', '/api/v1/sites/docs/documents', {
      json: GUIDE,
    });
    expect(response.status).toBe(201);
    const body = await response.json();
    expect(body.outcome).toBe('created');
    expect(body.document).toMatchObject({
      title: 'Guide',
      source: 'https://example.com/guide',
      status: 'ready',
      format: 'markdown',
    });
    guideId = body.document.id;
    const chunks = await chunksOf(guideId);
    expect(chunks.length).toBe(body.document.chunkCount);
    expect(chunks.map((c) => c.position)).toEqual(chunks.map((_, i) => i));
    const tokens = chunks.find((c) => c.content.includes('admin token'));
    expect(tokens?.heading_path).toEqual(['Installation guide', 'Configuration', 'Tokens']);
    expect(tokens?.context).toBe('Guide › Installation guide › Configuration › Tokens');
    const upgrading = chunks.find((c) => c.content.includes('pull the new image'));
    expect(upgrading?.heading_path).toEqual(['Installation guide', 'Upgrading']);
  });

  it('records the embedder that built the site', async () => {
    const { site } = await (await h.request('GET', '/api/v1/sites/docs')).json();
    expect(site.embedder).toEqual({ id: 'hash-v1', dimension: 384 });
    expect(site.documentCount).toBe(1);
  });

  it('treats an unchanged document as a no-op', async () => {
    const before = await chunksOf(guideId);
    const response = await h.request('POST', '/api/v1/sites/docs/documents', {
      json: GUIDE,
    });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.outcome).toBe('unchanged');
    expect(body.document.id).toBe(guideId);
    expect((await chunksOf(guideId)).map((c) => c.id)).toEqual(before.map((c) => c.id));
  });

  it('replaces the chunks of a changed document', async () => {
    const before = await chunksOf(guideId);
    const changed = GUIDE_MD.replace(
      'Migrations run at boot.',
      'Migrations run at boot, under an advisory lock.',
    );
    const response = await h.request('POST', '/api/v1/sites/docs/documents', {
      json: {
        title: 'Guide',
        content: changed,
        url: 'https://example.com/guide',
        metadata: { lang: 'en' },
      },
    });
    expect(response.status).toBe(200);
    expect((await response.json()).outcome).toBe('updated');
    const after = await chunksOf(guideId);
    expect(after.some((c) => c.content.includes('advisory lock'))).toBe(true);
    expect(after.some((c) => before.some((b) => b.id === c.id))).toBe(false);
    expect((await h.counts()).chunks).toBe(after.length);
  });

  it('lists and gets documents with their status and chunk counts', async () => {
    const list = await (await h.request('GET', '/api/v1/sites/docs/documents')).json();
    expect(list.documents).toHaveLength(1);
    expect(list.documents[0]).toMatchObject({
      id: guideId,
      status: 'ready',
      chunkCount: expect.any(Number),
    });
    const one = await (await h.request('GET', `/api/v1/sites/docs/documents/${guideId}`)).json();
    expect(one.document.chunkCount).toBe((await chunksOf(guideId)).length);
  });

  it('takes a multipart upload of .md, .txt, .html and .pdf files', async () => {
    const form = formWith([
      { name: 'notes.md', content: '# Notes\n\nMarkdown notes about backups.' },
      { name: 'plain.txt', content: 'Plain text about restoring a backup.\n\nA second paragraph.' },
      {
        name: 'page.html',
        content:
          '<html><head><title>HTML page</title><script>alert(1)</script></head><body><h1>Page</h1><p>Readable &amp; clean text.</p></body></html>',
      },
      {
        name: 'manual.pdf',
        content: makePdf([['PDF manual first page'], ['Second page about vectors']], 'The Manual'),
      },
    ]);
    const response = await h.request('POST', '/api/v1/sites/docs/documents', { body: form });
    expect(response.status).toBe(201);
    const { results } = await response.json();
    expect(results.map((r: { outcome: string }) => r.outcome)).toEqual([
      'created',
      'created',
      'created',
      'created',
    ]);
    const byName = Object.fromEntries(
      results.map((r: { document: { fileName: string } }) => [r.document.fileName, r.document]),
    );
    expect(byName['manual.pdf']).toMatchObject({ format: 'pdf', title: 'The Manual' });
    expect(byName['page.html']).toMatchObject({ format: 'html', title: 'HTML page' });
    const html = await chunksOf(byName['page.html'].id);
    expect(html.map((c) => c.content).join(' ')).toContain('Readable & clean text.');
    expect(html.map((c) => c.content).join(' ')).not.toContain('alert');
    const pdf = await chunksOf(byName['manual.pdf'].id);
    expect(pdf.map((c) => c.content).join(' ')).toMatch(
      /first page[\s\S]*Second page about vectors/,
    );
  });

  it('deletes a document and its chunks', async () => {
    const before = await h.counts();
    const guideChunks = (await chunksOf(guideId)).length;
    expect((await h.request('DELETE', `/api/v1/sites/docs/documents/${guideId}`)).status).toBe(204);
    expect(await h.counts()).toEqual({
      documents: before.documents - 1,
      chunks: before.chunks - guideChunks,
    });
    expect((await h.request('GET', `/api/v1/sites/docs/documents/${guideId}`)).status).toBe(404);
    expect((await h.request('DELETE', `/api/v1/sites/docs/documents/${guideId}`)).status).toBe(404);
  });

  it('pages through documents newest first', async () => {
    const first = await (await h.request('GET', '/api/v1/sites/docs/documents?limit=3')).json();
    expect(first.documents).toHaveLength(3);
    const second = await (
      await h.request('GET', `/api/v1/sites/docs/documents?limit=3&before=${first.nextBefore}`)
    ).json();
    expect(second.documents).toHaveLength(1);
    expect(second.nextBefore).toBeNull();
    const ids = [...first.documents, ...second.documents].map((d: { id: number }) => d.id);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
  });
});

describe(`document batches (${process.env.TEST_DB ?? 'pglite'})`, () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    await h.createSite('docs');
  });
  afterAll(async () => {
    await h?.close();
  });

  const doc = (n: number) => ({
    title: `Doc ${n}`,
    content: `# Doc ${n}\n\nText of document ${n}.`,
  });

  it('stores a JSON batch of documents in one request', async () => {
    const response = await h.request('POST', '/api/v1/sites/docs/documents', {
      json: { documents: [doc(1), doc(2), doc(3)] },
    });
    expect(response.status).toBe(201);
    const { results } = await response.json();
    expect(results.map((r: { outcome: string }) => r.outcome)).toEqual([
      'created',
      'created',
      'created',
    ]);
    expect((await h.counts()).documents).toBe(3);
  });

  it('reports unchanged and updated documents of a batch separately', async () => {
    const changed = { ...doc(2), content: `${doc(2).content}\n\nA new paragraph.` };
    const response = await h.request('POST', '/api/v1/sites/docs/documents', {
      json: { documents: [doc(1), changed, doc(4)] },
    });
    expect(response.status).toBe(201);
    const { results } = await response.json();
    expect(results.map((r: { outcome: string }) => r.outcome)).toEqual([
      'unchanged',
      'updated',
      'created',
    ]);
  });

  it('refuses a batch with one bad document, storing none of it', async () => {
    const before = await h.counts();
    const response = await h.request('POST', '/api/v1/sites/docs/documents', {
      json: { documents: [doc(5), { title: 'x'.repeat(600), content: 'too long a title' }] },
    });
    expect(response.status).toBe(400);
    expect((await response.json()).error.message).toMatch(/^documents\.1\.title: /);
    expect(await h.counts()).toEqual(before);
  });

  it('refuses two documents with the same source in one batch', async () => {
    const before = await h.counts();
    const response = await h.request('POST', '/api/v1/sites/docs/documents', {
      json: { documents: [doc(6), doc(6)] },
    });
    expect(response.status).toBe(400);
    expect(await h.counts()).toEqual(before);
  });

  it('refuses more than 100 documents in one batch', async () => {
    const documents = Array.from({ length: 101 }, (_, i) => doc(100 + i));
    const response = await h.request('POST', '/api/v1/sites/docs/documents', {
      json: { documents },
    });
    expect(response.status).toBe(400);
  });
});

describe(`document identity (${process.env.TEST_DB ?? 'pglite'})`, () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    await h.createSite('ids');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('keeps same-named files of two folders apart, each with its title and page URL', async () => {
    const form = formWith(
      [
        { name: 'helpers/jwt.md', content: '# JWT Helper\n\nSign and verify tokens.' },
        { name: 'middleware/jwt.md', content: '# JWT Middleware\n\nProtect routes with a token.' },
        { name: 'middleware/notes.md', content: 'No heading here, just words about tokens.' },
      ],
      {
        urls: JSON.stringify({
          'helpers/jwt.md': 'https://docs.example.com/helpers/jwt',
          'middleware/jwt.md': 'https://docs.example.com/middleware/jwt',
        }),
      },
    );
    const response = await h.request('POST', '/api/v1/sites/ids/documents', { body: form });
    expect(response.status).toBe(201);
    const { results } = await response.json();
    expect(results.map((r: { outcome: string }) => r.outcome)).toEqual([
      'created',
      'created',
      'created',
    ]);
    expect(results.map((r: { document: unknown }) => r.document)).toEqual([
      expect.objectContaining({
        source: 'helpers/jwt.md',
        fileName: 'jwt.md',
        title: 'JWT Helper',
        url: 'https://docs.example.com/helpers/jwt',
      }),
      expect.objectContaining({
        source: 'middleware/jwt.md',
        title: 'JWT Middleware',
        url: 'https://docs.example.com/middleware/jwt',
      }),
      expect.objectContaining({ source: 'middleware/notes.md', title: 'notes', url: null }),
    ]);
    const again = await h.request('POST', '/api/v1/sites/ids/documents', {
      body: formWith(
        [{ name: 'helpers/jwt.md', content: '# JWT Helper\n\nSign and verify tokens.' }],
        { urls: JSON.stringify({ 'helpers/jwt.md': 'https://docs.example.com/helpers/jwt' }) },
      ),
    });
    expect((await again.json()).results[0].outcome).toBe('unchanged');
    expect((await h.counts()).documents).toBe(3);
  });

  it('re-keys a document an old site stored under its bare name (migration 011): re-ingesting replaces it', async () => {
    await h.createSite('legacy');
    const first = await h.request('POST', '/api/v1/sites/legacy/documents', {
      body: formWith([{ name: 'jwt.md', content: '# JWT\n\nThe old page, stored by name.' }]),
    });
    const [old] = (await first.json()).results;
    expect(old.document.source).toBe('jwt.md');
    // Run 011 again over this row, as it ran over sites stored before paths were identities.
    const sql = readFileSync(
      new URL('../src/db/migrations/011_document_paths.sql', import.meta.url),
      'utf8',
    );
    await h.services.db.pool.query(sql);
    const before = await h.counts();
    const again = await h.request('POST', '/api/v1/sites/legacy/documents', {
      body: formWith([
        { name: 'helpers/jwt.md', content: '# JWT Helper\n\nSign and verify tokens.' },
        { name: 'middleware/jwt.md', content: '# JWT Middleware\n\nProtect routes.' },
      ]),
    });
    expect(again.status).toBe(201);
    const { results } = await again.json();
    expect(results.map((r: { outcome: string }) => r.outcome)).toEqual(['updated', 'created']);
    expect(results[0].document).toMatchObject({ id: old.document.id, source: 'helpers/jwt.md' });
    expect((await h.counts()).documents).toBe(before.documents + 1);
    const { rows } = await h.services.db.pool.query<{ source: string; keyed_by_name: boolean }>(
      `select d.source, d.keyed_by_name from documents d join sites s on s.id = d.site_id
       where s.name = 'legacy' order by d.source`,
    );
    expect(rows).toEqual([
      { source: 'helpers/jwt.md', keyed_by_name: false },
      { source: 'middleware/jwt.md', keyed_by_name: false },
    ]);
    // Stored under paths now: a root-level file of the same name is a new document.
    const root = await h.request('POST', '/api/v1/sites/legacy/documents', {
      body: formWith([{ name: 'jwt.md', content: '# JWT\n\nA root page.' }]),
    });
    expect((await root.json()).results[0].outcome).toBe('created');
  });

  it('re-chunks a document stored in an older chunk format when it is ingested again', async () => {
    await h.createSite('formats');
    const contents = async (id: number) =>
      (
        await h.services.db.pool.query<{ content: string }>(
          'select content from chunks where document_id = $1 order by position',
          [id],
        )
      ).rows.map((row) => row.content);
    const content = '# Setup\n\nInstall it:\n\n```sh\nnpm i rag\n```\n';
    const doc = { title: 'Setup', content };
    const first = await h.request('POST', '/api/v1/sites/formats/documents', { json: doc });
    const { document } = await first.json();
    expect(await contents(document.id)).toEqual(['Install it:\n\n```sh\nnpm i rag\n```']);
    const { CHUNK_MAX_TOKENS, CHUNK_OVERLAP_TOKENS } = h.services.config;
    // The hash as ingestion computes it (checked against the stored one), then as format 1 did:
    // no format in it, no language on code blocks, and the code stored bare.
    const hash = (prefix: string, blocks: unknown) =>
      createHash('sha256')
        .update(`${prefix}${CHUNK_MAX_TOKENS}/${CHUNK_OVERLAP_TOKENS}`)
        .update(
          JSON.stringify({ format: 'markdown', title: 'Setup', url: null, metadata: {}, blocks }),
        )
        .digest('hex');
    const { blocks } = parseMarkdown(content);
    const pool = h.services.db.pool;
    const stored = await pool.query('select content_hash from documents where id = $1', [
      document.id,
    ]);
    expect(stored.rows[0].content_hash).toBe(hash(`${CHUNK_FORMAT}:`, blocks));
    const bare = JSON.parse(
      JSON.stringify(blocks, (key, value) => (key === 'lang' ? undefined : value)),
    );
    await pool.query('update documents set content_hash = $2 where id = $1', [
      document.id,
      hash('', bare),
    ]);
    await pool.query(
      `update chunks set content = 'Install it:\n\nnpm i rag' where document_id = $1`,
      [document.id],
    );
    const again = await h.request('POST', '/api/v1/sites/formats/documents', { json: doc });
    expect((await again.json()).outcome).toBe('updated');
    expect(await contents(document.id)).toEqual(['Install it:\n\n```sh\nnpm i rag\n```']);
  });

  it('refuses a page URL that is not http(s)', async () => {
    const form = formWith([{ name: 'a.md', content: '# A\n\ntext' }], {
      urls: JSON.stringify({ 'a.md': 'javascript:alert(1)' }),
    });
    const response = await h.request('POST', '/api/v1/sites/ids/documents', { body: form });
    expect(response.status).toBe(400);
    expect((await response.json()).error.code).toBe('validation_failed');
  });
});
