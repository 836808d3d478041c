import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness, TEST_DB } from './harness.js';
import { startLlmStub } from './llm-stub.js';
import { answerText, readSse } from './sse.js';

const DOCS = [
  {
    title: 'Backups',
    content:
      '# Backups\n\nThe nightly backup job runs pg_dump. It keeps seven compressed dumps on the server.',
  },
  {
    title: 'Restoring',
    content:
      '# Restore\n\nTo restore a backup, create a scratch database. Then load the newest dump into it.',
  },
  {
    title: 'Widget',
    content: '# Widget\n\nEmbed the widget with one script tag. It needs the public site key.',
  },
  {
    title: 'Limits',
    content:
      '# Limits\n\nEach reader may ask twenty questions a minute. The limiter keeps its counters in Redis.',
  },
];

async function seed(h: Harness, allowedOrigins: string[] = []): Promise<string> {
  const created = await h.request('POST', '/api/v1/sites', {
    json: { name: 'docs', allowedOrigins },
  });
  const { site } = await created.json();
  const response = await h.request('POST', '/api/v1/sites/docs/documents', {
    json: { documents: DOCS },
  });
  expect(response.status).toBe(201);
  return site.publicKey as string;
}

async function chat(h: Harness, body: unknown, headers: Record<string, string> = {}) {
  const response = await h.request('POST', '/api/v1/sites/docs/chat', { json: body, headers });
  return response;
}

describe(`chat, extractive answers (${TEST_DB})`, () => {
  let h: Harness;
  let siteKey: string;
  beforeAll(async () => {
    h = await startHarness({ env: { PUBLIC_ORIGINS: 'https://chat.example.com' } });
    siteKey = await seed(h, ['https://partner.example.org']);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('streams meta, sources, tokens and done, each with an id, and headers no proxy buffers', async () => {
    const response = await chat(h, { message: 'How do I restore a backup?' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(response.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(response.headers.get('x-accel-buffering')).toBe('no');
    const items = (await readSse(response.body!)).filter((item) => item.event !== undefined);
    expect(items[0]!.event).toBe('meta');
    expect(items[0]!.data).toMatchObject({
      conversationId: expect.any(String),
      cache: 'miss',
      requestId: expect.any(String),
    });
    expect(items[1]!.event).toBe('sources');
    const { sources } = items[1]!.data as {
      sources: Array<{ n: number; title: string; url: string | null; headingPath: string[] }>;
    };
    expect(sources[0]).toMatchObject({ n: 1, title: 'Restoring', headingPath: ['Restore'] });
    expect(items.filter((item) => item.event === 'token').length).toBeGreaterThan(3);
    const done = items.at(-1)!;
    expect(done.event).toBe('done');
    expect(done.data).toMatchObject({
      finishReason: 'stop',
      latencyMs: expect.any(Number),
      tokens: expect.any(Number),
    });
    const cited = (done.data as { cited: number[] }).cited;
    expect(cited.length).toBeGreaterThan(0);
    for (const n of cited) expect(n).toBeLessThanOrEqual(sources.length);
    const text = answerText(items);
    expect(text).toContain('scratch database');
    for (const [, n] of text.matchAll(/\[(\d+)\]/g))
      expect(Number(n)).toBeLessThanOrEqual(sources.length);
    const ids = items.map((item) => item.id!);
    const sequence = ids.map((id) => Number(id.split('.')[1]));
    expect(sequence).toEqual(sequence.map((_, i) => i + 1));
  });

  it('keeps the conversation and takes a follow-up in it', async () => {
    const first = (
      await readSse((await chat(h, { message: 'Where are backups kept?' })).body!)
    ).filter((i) => i.event);
    const conversationId = (first[0]!.data as { conversationId: string }).conversationId;
    const second = (
      await readSse((await chat(h, { message: 'And how many of them?', conversationId })).body!)
    ).filter((i) => i.event);
    expect((second[0]!.data as { conversationId: string }).conversationId).toBe(conversationId);
    expect(second.at(-1)!.event).toBe('done');
    const { rows } = await h.services.db.pool.query(
      'select role, status from messages where conversation_id = $1 order by id',
      [conversationId],
    );
    expect(rows.map((row) => row.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
  });

  it('says it does not know and cites nothing when nothing relevant is found', async () => {
    const items = (
      await readSse((await chat(h, { message: 'zebra marmalade saxophone quartet' })).body!)
    ).filter((i) => i.event);
    expect(items[1]!.data).toEqual({ sources: [] });
    expect(answerText(items)).toMatch(/couldn't find/);
    expect(items.at(-1)!.data).toMatchObject({ finishReason: 'no_answer', cited: [] });
  });

  it('lists each document and heading once, with its identity, and cites as data', async () => {
    const items = (
      await readSse((await chat(h, { message: 'How do I restore a backup dump?' })).body!)
    ).filter((i) => i.event);
    const { sources } = items[1]!.data as {
      sources: Array<{
        n: number;
        documentId: string;
        headingPath: string[];
        source: string;
        snippet: string;
      }>;
    };
    const keys = sources.map((s) => JSON.stringify([s.documentId, s.headingPath]));
    expect(new Set(keys).size).toBe(keys.length);
    expect(sources.map((s) => s.n)).toEqual(sources.map((_, i) => i + 1));
    const restoring = sources.find((s) => s.source === 'Restoring');
    expect(restoring).toMatchObject({ documentId: expect.any(String), headingPath: ['Restore'] });
    expect(restoring!.snippet).toContain('scratch database');
    const done = items.at(-1)!.data as { finishReason: string; cited: number[] };
    expect(done.finishReason).toBe('stop');
    expect(done.cited).toContain(restoring!.n);
  });

  it('quotes a hostile document without its fake citations or links', async () => {
    const response = await h.request('POST', '/api/v1/sites/docs/documents', {
      json: {
        title: 'Billing',
        format: 'text',
        content:
          'To pay an invoice, the official guide [1] says to log in at [the billing portal](https://phish.example/login) first.',
      },
    });
    expect(response.status).toBe(201);
    const items = (
      await readSse(
        (
          await chat(h, { message: 'how do I pay an invoice in the billing portal' })
        ).body!,
      )
    ).filter((i) => i.event);
    const text = answerText(items);
    expect(text).toContain('phish.example');
    // The page's own `[1]` and link label reach the reader escaped: neither a citation nor a link.
    expect(text).toContain('\\[1\\]');
    expect(text).toContain('\\[the billing portal\\](https://phish.example/login)');
    const { sources } = items[1]!.data as { sources: Array<{ n: number; source: string }> };
    const billing = sources.find((s) => s.source === 'Billing')!;
    expect((items.at(-1)!.data as { cited: number[] }).cited).toEqual([billing.n]);
    await h.request(
      'DELETE',
      `/api/v1/sites/docs/documents/${(await response.json()).document.id}`,
    );
  });

  it('accepts the site key from an allowed origin and from the product chat site, with CORS', async () => {
    for (const origin of ['https://partner.example.org', 'https://chat.example.com']) {
      const response = await h.request('POST', '/api/v1/sites/docs/chat', {
        token: null,
        json: { message: 'How is the widget embedded?' },
        headers: { origin, 'x-site-key': siteKey },
      });
      expect(response.status, origin).toBe(200);
      expect(response.headers.get('access-control-allow-origin')).toBe(origin);
      await readSse(response.body!);
    }
    const preflight = await h.request('OPTIONS', '/api/v1/sites/docs/chat', {
      token: null,
      headers: { origin: 'https://partner.example.org', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/X-Site-Key/i);
  });

  it('refuses bad input with a clear 4xx and stores nothing', async () => {
    const before = await h.services.db.pool.query(
      'select (select count(*) from conversations) as c, (select count(*) from messages) as m',
    );
    const cases: Array<
      [string, () => Promise<{ status: number; json(): Promise<unknown> }>, number]
    > = [
      ['an empty message', () => chat(h, { message: '  ' }), 400],
      ['a 5,000-character message', () => chat(h, { message: 'x'.repeat(5_000) }), 400],
      // Past the reader body limit (32 KB): refused before the body is read whole.
      ['a 100 KB message', () => chat(h, { message: 'x'.repeat(100_000) }), 413],
      [
        'malformed JSON',
        () =>
          h.request('POST', '/api/v1/sites/docs/chat', {
            body: '{"message":',
            headers: { 'content-type': 'application/json' },
          }),
        400,
      ],
      [
        'an unknown site',
        () => h.request('POST', '/api/v1/sites/nope/chat', { json: { message: 'hi' } }),
        404,
      ],
      [
        'an unknown conversation',
        () => chat(h, { message: 'hi', conversationId: '00000000-0000-4000-8000-000000000000' }),
        404,
      ],
      [
        'a site key from a disallowed origin',
        () =>
          h.request('POST', '/api/v1/sites/docs/chat', {
            token: null,
            json: { message: 'hi' },
            headers: { origin: 'https://evil.example', 'x-site-key': siteKey },
          }),
        403,
      ],
      [
        'a preflight from a disallowed origin',
        () =>
          h.request('OPTIONS', '/api/v1/sites/docs/chat', {
            token: null,
            headers: { origin: 'https://evil.example' },
          }),
        403,
      ],
      [
        'a wrong site key',
        () =>
          h.request('POST', '/api/v1/sites/docs/chat', {
            token: null,
            json: { message: 'hi' },
            headers: { origin: 'https://partner.example.org', 'x-site-key': 'pk_wrong' },
          }),
        403,
      ],
      [
        'no key at all',
        () =>
          h.request('POST', '/api/v1/sites/docs/chat', { token: null, json: { message: 'hi' } }),
        401,
      ],
      [
        'a resume of an unknown answer',
        () =>
          h.request('POST', '/api/v1/sites/docs/chat', {
            json: { message: 'hi' },
            headers: { 'last-event-id': 'AAAAAAAAAAAA.3' },
          }),
        404,
      ],
    ];
    for (const [name, send, status] of cases) {
      const response = await send();
      expect(response.status, name).toBe(status);
      expect(await response.json(), name).toMatchObject({
        error: { code: expect.any(String), message: expect.any(String) },
      });
    }
    const after = await h.services.db.pool.query(
      'select (select count(*) from conversations) as c, (select count(*) from messages) as m',
    );
    expect(after.rows[0]).toEqual(before.rows[0]);
  });
});

describe(`chat through an OpenAI-compatible LLM (a local stub) (${TEST_DB})`, () => {
  let stub: Awaited<ReturnType<typeof startLlmStub>>;
  const harnesses: Harness[] = [];
  beforeAll(async () => {
    stub = await startLlmStub();
  });
  afterAll(async () => {
    for (const h of harnesses) await h.close();
    await stub?.close();
  });
  const withModel = async (model: string, env: Record<string, string> = {}) => {
    const h = await startHarness({
      env: {
        LLM_BASE_URL: stub.url,
        LLM_API_KEY: 'sk-test-secret',
        LLM_MODEL: model,
        LLM_TIMEOUT_MS: '5000',
        ...env,
      },
    });
    harnesses.push(h);
    await seed(h);
    return h;
  };

  it('streams the model tokens in order and completely', async () => {
    const h = await withModel('echo');
    const items = await readSse((await chat(h, { message: 'How do I restore a backup?' })).body!);
    expect(items.at(-1)!.event).toBe('done');
    expect(answerText(items).length).toBeGreaterThan(10);
    expect(items.filter((i) => i.event === 'token').length).toBeGreaterThan(3);
  });

  it('removes a citation that names no retrieved source', async () => {
    const h = await withModel('cite-7');
    const items = await readSse((await chat(h, { message: 'How do I restore a backup?' })).body!);
    const sources = (items.find((i) => i.event === 'sources')!.data as { sources: unknown[] })
      .sources;
    expect(sources.length).toBeLessThan(7);
    expect(answerText(items)).not.toContain('[7]');
    expect(answerText(items)).toContain('[1]');
    expect(items.at(-1)!.data).toMatchObject({ cited: [1] });
  });

  it("shows a model's link to a page that is no source as plain text", async () => {
    const h = await withModel('link');
    const items = await readSse((await chat(h, { message: 'How do I restore a backup?' })).body!);
    expect(answerText(items)).toBe(
      'Restore from the official guide or https://phish.example/x [1].',
    );
    expect(items.at(-1)!.data).toMatchObject({ finishReason: 'stop', cited: [1] });
  });

  it('ends with an error event when the upstream fails mid-stream, and keeps what was said', async () => {
    const h = await withModel('error-midstream');
    const items = await readSse((await chat(h, { message: 'How do I restore a backup?' })).body!);
    const last = items.at(-1)!;
    expect(last.event).toBe('error');
    expect(last.data).toMatchObject({
      code: expect.stringMatching(/^upstream_/),
      message: expect.any(String),
    });
    expect(JSON.stringify(last.data)).not.toContain('sk-test-secret');
    const { rows } = await h.services.db.pool.query(
      "select status, content from messages where role = 'assistant'",
    );
    const said = answerText(items);
    expect(rows).toEqual([{ status: said === '' ? 'error' : 'partial', content: said }]);
  });

  it('sends pings while the model stalls, then the answer', async () => {
    // The default interval is 15 s; a 2 s interval over a 12 s stall checks the same rule in a
    // fraction of the time, with room for a loaded machine's timer lag in the gap bound.
    const h = await withModel('stall-12000', { LLM_TIMEOUT_MS: '60000', CHAT_PING_MS: '2000' });
    const items = await readSse((await chat(h, { message: 'How do I restore a backup?' })).body!, {
      timeoutMs: 45_000,
    });
    const pings = items.filter((i) => i.comment === 'ping');
    expect(pings.length).toBeGreaterThanOrEqual(3);
    const gaps = items.slice(1).map((item, i) => item.at - items[i]!.at);
    expect(Math.max(...gaps)).toBeLessThan(5_000);
    expect(items.at(-1)!.event).toBe('done');
  }, 60_000);

  it('stops the upstream call and returns the database pool to idle when the reader disconnects', async () => {
    const h = await withModel('slow-200', { CHAT_DETACH_GRACE_MS: '500' });
    const server = serve({ fetch: h.app.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const closedBefore = stub.closedConnections();
      const controller = new AbortController();
      const response = await fetch(`http://127.0.0.1:${port}/api/v1/sites/docs/chat`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${process.env.ADMIN ?? 'test-admin-token-0123456789abcdef'}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ message: 'How do I restore a backup?' }),
        signal: controller.signal,
      });
      await readSse(response.body!, { stop: (item) => item.event === 'token' });
      controller.abort();
      const stopped = performance.now();
      while (stub.closedConnections() === closedBefore && performance.now() - stopped < 5_000) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(stub.closedConnections()).toBeGreaterThan(closedBefore);
      expect(performance.now() - stopped).toBeLessThan(2_000);
      const pool = h.services.db.pool;
      while (
        (pool.totalCount !== pool.idleCount || pool.waitingCount > 0) &&
        performance.now() - stopped < 5_000
      ) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(pool.waitingCount).toBe(0);
      expect(pool.idleCount).toBe(pool.totalCount);
    } finally {
      server.close();
    }
  });

  it('resumes with Last-Event-ID: the events after that id, no duplicates', async () => {
    const h = await withModel('slow-100');
    const first = await readSse((await chat(h, { message: 'How do I restore a backup?' })).body!, {
      stop: (_item, all) => all.filter((i) => i.event === 'token').length === 3,
    });
    const lastId = first.filter((i) => i.id !== undefined).at(-1)!.id!;
    const rest = await readSse(
      (
        await h.request('POST', '/api/v1/sites/docs/chat', {
          json: { message: 'ignored on resume' },
          headers: { 'last-event-id': lastId },
        })
      ).body!,
    );
    const ids = [...first, ...rest]
      .filter((i) => i.id !== undefined)
      .map((i) => Number(i.id!.split('.')[1]));
    expect(ids).toEqual(ids.map((_, i) => i + 1));
    expect(rest.at(-1)!.event).toBe('done');
    const whole = await readSse((await chat(h, { message: 'How do I restore a backup?' })).body!);
    expect(answerText([...first, ...rest])).toBe(answerText(whole));
  });
});
