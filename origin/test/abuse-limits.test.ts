import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness, TEST_DB } from './harness.js';
import { type LlmStub, startLlmStub } from './llm-stub.js';
import { readSse, type SseItem } from './sse.js';

const EDGE_SECRET = 'edge-secret-for-tests-0123456789';
const REDIS = process.env.TEST_REDIS_URL;

/** Redis when the suite has one (production's shared counts), else the in-process limiter. */
const limitsEnv = (): Record<string, string> => ({
  ...(REDIS === undefined ? {} : { RATE_LIMIT_REDIS_URL: REDIS }),
  REDIS_KEY_PREFIX: `abuse-${randomBytes(6).toString('hex')}:`,
  EDGE_SHARED_SECRET: EDGE_SECRET,
});

const DOCUMENT = {
  title: 'Backups',
  content: '# Backups\n\nThe nightly job runs pg_dump and keeps seven dumps of the database.',
};

async function siteWithDocs(h: Harness, name: string): Promise<string> {
  const created = await h.request('POST', '/api/v1/sites', {
    json: { name },
    headers: { 'x-edge-secret': EDGE_SECRET },
  });
  expect(created.status).toBe(201);
  const docs = await h.request('POST', `/api/v1/sites/${name}/documents`, {
    json: { documents: [DOCUMENT] },
    headers: { 'x-edge-secret': EDGE_SECRET },
  });
  expect(docs.status).toBe(201);
  return (await created.json()).site.publicKey;
}

/** A reader's chat request as the edge forwards it, from `ip`. */
function readerChat(
  h: Harness,
  site: string,
  key: string,
  ip: string,
  body: RequestInit['body'],
  headers: Record<string, string> = {},
) {
  return h.request('POST', `/api/v1/sites/${site}/chat`, {
    body,
    token: null,
    headers: {
      'content-type': 'application/json',
      'x-site-key': key,
      'x-edge-secret': EDGE_SECRET,
      'x-client-ip': ip,
      ...headers,
    },
  });
}

describe(`one client cannot spend a site's budget (${TEST_DB})`, () => {
  let h: Harness;
  let key: string;
  let key2: string;
  beforeAll(async () => {
    h = await startHarness({
      env: {
        ...limitsEnv(),
        RATE_LIMIT_SITE_CHAT_PER_MINUTE: '100',
        RATE_LIMIT_CHAT_PER_MINUTE: '20',
        RATE_LIMIT_CLIENT_SHARE_PERCENT: '10',
      },
    });
    key = await siteWithDocs(h, 'docs');
    key2 = await siteWithDocs(h, 'docs2');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('600 junk and real questions from rotating addresses (one IPv6 /64 among them) leave another reader able to ask', async () => {
    const junk = [
      () => '{"message":',
      () => JSON.stringify({ message: 'where are the dumps?', conversationId: randomUUID() }),
      () => JSON.stringify({ message: '' }),
    ];
    const count = (responses: Response[]) => {
      const statuses: Record<number, number> = {};
      for (const r of responses) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      return statuses;
    };
    const send = async (n: number, ip: (i: number) => string, body: (i: number) => string) => {
      const all: Response[] = [];
      for (let batch = 0; batch < n / 50; batch++) {
        const responses = await Promise.all(
          Array.from({ length: 50 }, (_, j) => {
            const i = batch * 50 + j;
            return readerChat(h, 'docs', key, ip(i), body(i));
          }),
        );
        for (const response of responses) await response.body?.cancel();
        all.push(...responses);
      }
      return count(all);
    };
    // 300 requests that do nothing, each from its own address: none may spend the site's budget.
    const junkStatuses = await send(
      300,
      (i) => `10.${i >> 8}.${i & 255}.9`,
      (i) => junk[i % junk.length]!(),
    );
    expect(junkStatuses).toEqual({ 400: 200, 404: 100 });
    // 300 more, junk and real questions, rotating through one /64: that is one client, whose
    // real questions get its share of the site's budget (10 % of 100) and no more.
    const v6Statuses = await send(
      300,
      (i) => `2001:db8:1:2:${((i * 7919) % 65_536).toString(16)}:${i.toString(16)}::${i % 97}`,
      (i) =>
        i % 2 === 0 ? JSON.stringify({ message: 'How many dumps are kept?' }) : junk[i % 3]!(),
    );
    expect(v6Statuses[200]).toBe(10);
    expect(v6Statuses[429]).toBeGreaterThan(200);
    expect(Object.keys(v6Statuses).sort()).toEqual(
      Object.keys(v6Statuses)
        .filter((s) => ['200', '400', '404', '429'].includes(s))
        .sort(),
    );

    const other = await readerChat(
      h,
      'docs',
      key,
      '2001:db8:99::1',
      JSON.stringify({ message: 'How many dumps are kept?' }),
    );
    expect(other.status).toBe(200);
    const items = await readSse(other.body!);
    expect(items.at(-1)?.event).toBe('done');
  });

  it('refuses a client over its budget before reading its body', async () => {
    const ip = '198.51.100.7';
    for (let i = 0; i < 10; i++) {
      const ok = await readerChat(h, 'docs2', key2, ip, JSON.stringify({ message: `q ${i}` }));
      expect(ok.status).toBe(200);
      await ok.body?.cancel();
    }
    // A body that never ends: only a refusal that does not read it can answer.
    const endless = new ReadableStream<Uint8Array>({
      pull: (controller) =>
        new Promise((resolve) =>
          setTimeout(() => {
            try {
              controller.enqueue(new TextEncoder().encode(' '));
            } catch {
              // cancelled: the refusal came first
            }
            resolve();
          }, 50),
        ),
    });
    const started = performance.now();
    const refused = await h.app.request('/api/v1/sites/docs2/chat', {
      method: 'POST',
      body: endless,
      headers: {
        'content-type': 'application/json',
        'x-site-key': key2,
        'x-edge-secret': EDGE_SECRET,
        'x-client-ip': ip,
      },
      duplex: 'half',
    } as RequestInit);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(performance.now() - started).toBeLessThan(2_000);
    await endless.cancel().catch(() => {});
  });

  it('refuses a reader body past the limit with 413, declared or streamed, and reads no more of it', async () => {
    const declared = await readerChat(h, 'docs2', key2, '203.0.113.50', 'x'.repeat(40_000));
    expect(declared.status).toBe(413);
    expect((await declared.json()).error.code).toBe('payload_too_large');
    let pulled = 0;
    const chunk = new Uint8Array(16 * 1024).fill(0x20);
    const huge = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 1;
        controller.enqueue(chunk);
      },
    });
    const streamed = await h.app.request('/api/v1/sites/docs2/search', {
      method: 'POST',
      body: huge,
      headers: {
        'content-type': 'application/json',
        'x-site-key': key2,
        'x-edge-secret': EDGE_SECRET,
        'x-client-ip': '203.0.113.51',
      },
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    // 32 KB limit in 16 KB chunks: a few reads, then the upload is cancelled.
    expect(pulled).toBeLessThan(10);
  });
});

describe(`answers in progress are bound, charged and capped (${TEST_DB})`, () => {
  let h: Harness;
  let stub: LlmStub;
  let keys: { a: string; b: string };
  beforeAll(async () => {
    stub = await startLlmStub();
    h = await startHarness({
      env: {
        ...limitsEnv(),
        LLM_BASE_URL: stub.url,
        LLM_API_KEY: 'sk-test-not-a-secret',
        LLM_MODEL: 'slow-150',
        RATE_LIMIT_RESUME_PER_MINUTE: '4',
        CHAT_MAX_STREAMS: '2',
        CHAT_MAX_RETAINED_STREAMS: '1',
      },
    });
    keys = { a: await siteWithDocs(h, 'site-a'), b: await siteWithDocs(h, 'site-b') };
  });
  afterAll(async () => {
    await h?.close();
    await stub?.close();
  });

  const firstEvents = async (response: Response, count: number): Promise<SseItem[]> =>
    readSse(response.body!, { stop: (_item, all) => all.length >= count, timeoutMs: 20_000 });

  it("refuses a resume on site A with site B's stream id, and resumes it on B", async () => {
    const asked = await readerChat(
      h,
      'site-b',
      keys.b,
      '192.0.2.10',
      JSON.stringify({ message: 'How many dumps are kept?' }),
    );
    expect(asked.status).toBe(200);
    const seen = await firstEvents(asked, 2);
    const lastId = seen.at(-1)!.id!;
    const across = await readerChat(
      h,
      'site-a',
      keys.a,
      '192.0.2.11',
      JSON.stringify({ message: 'How many dumps are kept?' }),
      { 'last-event-id': lastId },
    );
    expect(across.status).toBe(404);
    expect(across.headers.get('x-resume')).toBe('unknown-stream');
    const meta = seen.find((item) => item.event === 'meta')!.data as { conversationId: string };
    const otherConversation = await readerChat(
      h,
      'site-b',
      keys.b,
      '192.0.2.11',
      JSON.stringify({ message: 'How many dumps are kept?', conversationId: randomUUID() }),
      { 'last-event-id': lastId },
    );
    expect(otherConversation.status).toBe(404);
    const same = await readerChat(
      h,
      'site-b',
      keys.b,
      '192.0.2.11',
      JSON.stringify({ message: 'How many dumps are kept?', conversationId: meta.conversationId }),
      { 'last-event-id': lastId },
    );
    expect(same.status).toBe(200);
    const rest = await readSse(same.body!, { timeoutMs: 20_000 });
    expect(rest[0]!.id).not.toBe(lastId);
    expect(rest.at(-1)!.event).toBe('done');
  });

  it('charges resumes: past the budget they are refused with 429', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const response = await readerChat(h, 'site-a', keys.a, '192.0.2.20', '{}', {
        'last-event-id': `AAAAAAAAAAA${i}.1`,
      });
      statuses.push(response.status);
      await response.body?.cancel();
    }
    expect(statuses).toEqual([404, 404, 404, 404, 429, 429]);
  });

  it('counts running answers apart from finished ones kept for resume', async () => {
    // Five answers one after another with room for two running and one retained: none is a 503.
    for (let i = 0; i < 5; i++) {
      const response = await readerChat(
        h,
        'site-a',
        keys.a,
        `192.0.2.${30 + i}`,
        JSON.stringify({ message: `How many dumps are kept? (${i})` }),
      );
      expect(response.status).toBe(200);
      const items = await readSse(response.body!, { timeoutMs: 20_000 });
      expect(items.at(-1)!.event).toBe('done');
      // The turn finishes its bookkeeping right after `done`.
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(h.services.chat.registry.size).toBeLessThanOrEqual(2);
    }
    // Two running at once fill the cap; a third is refused, the finished ones do not count.
    const running = await Promise.all(
      [40, 41].map((n) =>
        readerChat(h, 'site-a', keys.a, `192.0.2.${n}`, JSON.stringify({ message: 'dumps?' })),
      ),
    );
    expect(running.map((r) => r.status)).toEqual([200, 200]);
    const third = await readerChat(
      h,
      'site-a',
      keys.a,
      '192.0.2.42',
      JSON.stringify({ message: 'dumps?' }),
    );
    expect(third.status).toBe(503);
    for (const response of running) await readSse(response.body!, { timeoutMs: 20_000 });
  });
});

describe(`readers see no provider or server details (${TEST_DB})`, () => {
  let h: Harness;
  let stub: LlmStub;
  let key: string;
  beforeAll(async () => {
    stub = await startLlmStub();
    h = await startHarness({
      env: {
        ...limitsEnv(),
        LLM_BASE_URL: stub.url,
        LLM_API_KEY: 'sk-test-not-a-secret',
        LLM_MODEL: 'error-403-org',
      },
    });
    key = await siteWithDocs(h, 'docs');
  });
  afterAll(async () => {
    await h?.close();
    await stub?.close();
  });

  it("gives the reader a generic error event, never the provider's words", async () => {
    const response = await readerChat(
      h,
      'docs',
      key,
      '192.0.2.50',
      JSON.stringify({ message: 'How many dumps are kept?' }),
    );
    const items = await readSse(response.body!);
    const error = items.find((item) => item.event === 'error');
    expect(error?.data).toMatchObject({ code: 'upstream_refused', retryable: true });
    const text = JSON.stringify(items);
    for (const secret of ['proj_Secret42', 'AcmeCorp', 'acme-corp.example', '127.0.0.1']) {
      expect(text).not.toContain(secret);
    }
  });

  it('shows health as { status } alone without the admin token, and in full with it', async () => {
    const anonymous = await h.request('GET', '/api/v1/health', { token: null });
    expect(anonymous.status).toBe(200);
    expect(await anonymous.json()).toEqual({ status: 'ok' });
    const admin = await (await h.request('GET', '/api/v1/health')).json();
    expect(admin).toMatchObject({ status: 'ok', embedder: { id: expect.any(String) } });
  });
});

describe(`a rebound host name is not this origin (${TEST_DB})`, () => {
  let h: Harness;
  let key: string;
  beforeAll(async () => {
    // The embedded default: no edge, the origin serves the chat site and its same-origin rule.
    h = await startHarness({ env: { SERVE_SITE: 'true' } });
    const created = await h.request('POST', '/api/v1/sites', { json: { name: 'docs' } });
    key = (await created.json()).site.publicKey;
  });
  afterAll(async () => {
    await h?.close();
  });

  const search = (origin: string) =>
    h.app.request(`${origin}/api/v1/sites/docs/search`, {
      method: 'POST',
      body: JSON.stringify({ query: 'dumps' }),
      headers: { 'content-type': 'application/json', origin, 'x-site-key': key },
    });

  it('gives the same-origin rule to a page on localhost, not to one under a DNS-rebinding name', async () => {
    expect((await search('http://localhost:8000')).status).toBe(200);
    const rebound = await search('http://attacker.example:8000');
    expect(rebound.status).toBe(403);
    expect(((await rebound.json()) as { error: { code: string } }).error.code).toBe('forbidden');
  });
});
