import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatStreamEvent } from '../../contract/stream.js';
import { fallbackResponse, streamError } from '../../edge-worker/src/fallback.js';
import { guardEventStream } from '../../edge-worker/src/sse.js';
import { streamChat } from '../../web/shared/chat.js';
import { AnswerError } from '../src/answer/types.js';
import { ChatService, type ChatTurnDeps } from '../src/chat/turn.js';
import { AppError } from '../src/errors.js';
import { type Harness, startHarness, TEST_DB } from './harness.js';
import { readSse } from './sse.js';

/**
 * Every event the origin and the edge can emit, made by their real emitters (the chat route, the
 * stream registry, the edge's fallback and stream guard), goes through the web client's parser
 * (`streamChat`) and through the contract's schema, and the client must hand its handlers what
 * was sent: the shapes have one definition, and the client reads them as defined. Failures the
 * origin cannot be made to have on demand (a model error, a full pool) are raised in its own
 * search or generator, never written as events by hand.
 */

/** What the web client did with a stream: its handler calls, in order. */
interface Seen {
  calls: Array<[string, unknown]>;
  retries: number[];
}

/** Feeds a chat response's body, as sent, through the web client's `streamChat`. */
async function throughClient(
  body: string,
  retryDelaysMs: readonly number[] = [],
  retries = 0,
): Promise<Seen> {
  const seen: Seen = { calls: [], retries: [] };
  let served = false;
  await streamChat(
    {
      url: 'http://127.0.0.1:1/api/v1/sites/docs/chat',
      key: 'pk_test',
      message: 'q',
      signal: new AbortController().signal,
      retries,
      backoffMs: retryDelaysMs,
      // Only the first request has the body; a second one (asking again) finds nothing new.
      fetch: async () => {
        const text = served ? '' : body;
        served = true;
        return new Response(text, { headers: { 'Content-Type': 'text/event-stream' } });
      },
    },
    {
      meta: (meta) => seen.calls.push(['meta', meta]),
      sources: (sources) => seen.calls.push(['sources', sources]),
      token: (text) => seen.calls.push(['token', text]),
      done: (done) => seen.calls.push(['done', done]),
      fail: (failure) => seen.calls.push(['fail', failure]),
      retrying: (delayMs) => seen.retries.push(delayMs),
      restart: () => seen.calls.push(['restart', null]),
    },
  );
  return seen;
}

/** The events of a body, each checked against the contract's schema. */
async function eventsOf(body: string): Promise<ChatStreamEvent[]> {
  const items = await readSse(new Response(body).body!);
  return items
    .filter((item) => item.event !== undefined)
    .map((item) => ChatStreamEvent.parse({ event: item.event, data: item.data }));
}

/** What the client must hand its handlers for `events`, read from the contract's fields. */
function expectedCalls(events: ChatStreamEvent[]): Array<[string, unknown]> {
  return events.flatMap((event): Array<[string, unknown]> => {
    if (event.event === 'meta') return [['meta', event.data]];
    if (event.event === 'sources') return [['sources', event.data.sources]];
    if (event.event === 'token') return [['token', event.data.text]];
    if (event.event === 'done') return [['done', event.data]];
    return [];
  });
}

describe(`every chat event through the web client (${TEST_DB})`, () => {
  let h: Harness;
  let deps: ChatTurnDeps;
  const kinds = new Set<string>();

  const ask = async (message: string, conversationId?: string) => {
    const response = await h.request('POST', '/api/v1/sites/docs/chat', {
      json: conversationId === undefined ? { message } : { message, conversationId },
    });
    expect(response.status).toBe(200);
    const body = await response.text();
    const events = await eventsOf(body);
    for (const event of events) {
      kinds.add(
        event.event === 'meta'
          ? `meta:${event.data.cache}`
          : event.event === 'done'
            ? `done:${event.data.finishReason}${event.data.cache ? ':hit' : ''}`
            : event.event === 'error'
              ? `error:${event.data.code}`
              : event.event,
      );
    }
    return { body, events };
  };

  /** Runs `run` with the chat turn's `key` service replaced by one that fails. */
  const failing = async <K extends 'search' | 'generator'>(
    key: K,
    replacement: ChatTurnDeps[K],
    run: () => Promise<void>,
  ) => {
    const real = h.services.chat.service;
    h.services.chat.service = new ChatService({ ...deps, [key]: replacement });
    try {
      await run();
    } finally {
      h.services.chat.service = real;
    }
  };

  beforeAll(async () => {
    h = await startHarness({ env: { CHAT_DETACH_GRACE_MS: '50' } });
    // The real service's own parts: a failing test swaps in one of them, nothing else.
    deps = (h.services.chat.service as unknown as { deps: ChatTurnDeps }).deps;
    await h.request('POST', '/api/v1/sites', { json: { name: 'docs' } });
    const response = await h.request('POST', '/api/v1/sites/docs/documents', {
      json: {
        documents: [
          {
            title: 'Backups',
            content: '# Backups\n\nThe nightly backup job runs pg_dump and keeps seven dumps.',
          },
        ],
      },
    });
    expect(response.status).toBe(201);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('an answer, the same answer from the cache, a follow-up and a refusal', async () => {
    const first = await ask('What does the nightly backup job run?');
    const names = first.events.map((event) => event.event);
    expect(names[0]).toBe('meta');
    expect(names.at(-1)).toBe('done');
    const done = first.events.at(-1)!.data as { messageId?: string; feedbackToken?: string };
    expect(done.messageId).toMatch(/^\d+$/);
    expect(done.feedbackToken).toEqual(expect.any(String));
    expect((await throughClient(first.body)).calls).toEqual(expectedCalls(first.events));

    const again = await ask('What does the nightly backup job run?');
    expect((await throughClient(again.body)).calls).toEqual(expectedCalls(again.events));

    const meta = first.events[0]!.data as { conversationId: string };
    const followUp = await ask('How many does it keep?', meta.conversationId);
    expect((await throughClient(followUp.body)).calls).toEqual(expectedCalls(followUp.events));

    const refused = await ask('Zebra migration patterns in Patagonia?');
    expect((await throughClient(refused.body)).calls).toEqual(expectedCalls(refused.events));

    expect([...kinds].sort()).toEqual(
      [
        'meta:miss',
        'meta:hit',
        'meta:bypass',
        'sources',
        'token',
        'done:stop',
        'done:stop:hit',
        'done:no_answer',
      ].sort(),
    );
  });

  it("a full origin's wait reaches the reader: Retry-After 7 s is retryAfterMs 7000, read as 7 s", async () => {
    await failing(
      'search',
      {
        search: async () => {
          throw new AppError('overloaded', 'too many searches; try again shortly', {
            headers: { 'Retry-After': '7' },
          });
        },
      } as unknown as ChatTurnDeps['search'],
      async () => {
        const { body, events } = await ask('What does the nightly backup job run, once more?');
        expect(events.at(-1)).toEqual({
          event: 'error',
          data: {
            code: 'overloaded',
            message: expect.any(String),
            retryable: true,
            retryAfterMs: 7000,
          },
        });
        const seen = await throughClient(body);
        expect(seen.calls.at(-1)).toEqual([
          'fail',
          { kind: 'failed', code: 'overloaded', retryAfter: 7 },
        ]);
      },
    );
  });

  it("the model's failure, an internal error and an answer the reader left", async () => {
    await failing(
      'search',
      {
        search: async () => {
          throw new Error('a bug');
        },
      } as unknown as ChatTurnDeps['search'],
      async () => {
        const { body } = await ask('Does anything break here?');
        expect((await throughClient(body)).calls.at(-1)).toEqual([
          'fail',
          { kind: 'failed', code: 'internal' },
        ]);
      },
    );
    await failing(
      'generator',
      {
        id: deps.generator.id,
        condense: deps.generator.condense.bind(deps.generator),
        // biome-ignore lint/correctness/useYield: it fails before its first token
        async *stream() {
          throw new AnswerError('upstream_timeout', 'the model took too long');
        },
      },
      async () => {
        const { body } = await ask('What does the backup job keep?');
        expect((await throughClient(body)).calls.at(-1)).toEqual([
          'fail',
          { kind: 'failed', code: 'upstream_timeout' },
        ]);
      },
    );
    // The reader goes before the first token: the answer is stopped after the grace period.
    await failing(
      'generator',
      {
        id: deps.generator.id,
        condense: deps.generator.condense.bind(deps.generator),
        async *stream({ signal }) {
          await new Promise((resolve) => signal.addEventListener('abort', resolve));
          signal.throwIfAborted();
          yield '';
        },
      },
      async () => {
        const response = await h.request('POST', '/api/v1/sites/docs/chat', {
          json: { message: 'What does the nightly backup job keep?' },
        });
        const lastId = (
          await readSse(response.body!, { stop: (item) => item.event === 'sources' })
        ).at(-1)!.id!;
        const { rows } = await h.services.db.pool.query<{ id: number }>(
          "select id from sites where name = 'docs'",
        );
        await h.services.chat.registry.resume(lastId, rows[0]!.id)!.stream.settled;
        const rest = await h.request('POST', '/api/v1/sites/docs/chat', {
          json: { message: 'What does the nightly backup job keep?' },
          headers: { 'Last-Event-ID': lastId },
        });
        const body = await rest.text();
        const events = await eventsOf(body);
        expect(events.at(-1)!.data).toMatchObject({ code: 'cancelled' });
        expect((await throughClient(body)).calls.at(-1)).toEqual([
          'fail',
          { kind: 'failed', code: 'cancelled' },
        ]);
      },
    );
  });

  it("the edge's maintenance and origin-unavailable events, and its guard on a broken stream", async () => {
    const chat = new Request('https://edge.example/api/v1/sites/docs/chat', { method: 'POST' });
    const maintenance = await fallbackResponse(chat, 'maintenance', 'req-1', 30).text();
    const [event] = await eventsOf(maintenance);
    expect(event).toMatchObject({ event: 'error', data: { retryAfterMs: 30_000 } });
    expect((await throughClient(maintenance)).calls).toEqual([
      ['fail', { kind: 'maintenance', code: 'maintenance', retryAfter: 30 }],
    ]);

    const down = await fallbackResponse(chat, 'origin_unavailable', 'req-2', 30).text();
    await eventsOf(down);
    const seen = await throughClient(down, [5]);
    // Before any answer, the client waits and asks again, then gives up.
    expect(seen.retries).toEqual([5]);

    // An origin stream cut after its first events: the edge appends its own error event.
    const { body } = await ask('What does the nightly backup job run?');
    const cut = body.slice(0, body.lastIndexOf('id: ', body.indexOf('event: done')));
    const upstream = new Response(
      new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(cut));
          controller.error(new Error('connection reset'));
        },
      }),
    ).body!;
    const guarded = await new Response(
      guardEventStream(upstream, () => streamError('origin_unavailable', 30)),
    ).text();
    const events = await eventsOf(guarded);
    expect(events.at(-1)).toMatchObject({ event: 'error', data: { code: 'origin_unavailable' } });
    const calls = (await throughClient(guarded)).calls;
    expect(calls.slice(0, -1)).toEqual(expectedCalls(events));
    expect(calls.at(-1)).toEqual([
      'fail',
      { kind: 'unreachable', code: 'origin_unavailable', retryAfter: 30 },
    ]);
  });

  it("the origin's shutdown event: the client asks again after the wait it gave", async () => {
    const stream = h.services.chat.registry.create({
      siteId: 1,
      conversationId: crypto.randomUUID(),
    });
    const frames: string[] = [];
    const { sseFrame } = await import('../src/chat/stream-registry.js');
    stream.subscribe(0, (event) => {
      if (event !== null) frames.push(sseFrame(event));
    });
    await h.services.chat.registry.shutdown(250, 100);
    stream.finish();
    const body = frames.join('');
    const [event] = await eventsOf(body);
    expect(event).toMatchObject({
      event: 'error',
      data: { code: 'shutting_down', retryAfterMs: 250 },
    });
    const started = performance.now();
    const seen = await throughClient(body, [], 1);
    expect(seen.calls[0]).toEqual(['restart', null]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(240);
  });
});
