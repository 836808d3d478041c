import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookSignature } from '../src/feedback/webhook.js';
import { ApiClient } from '../tools/cli/api-client.js';
import { insightsCommand, questionsCommand } from '../tools/cli/operator.js';
import { ADMIN_TOKEN, type Harness, startHarness, TEST_DB } from './harness.js';
import { readSse } from './sse.js';

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
  { title: 'Pricing', content: '# Pricing\n\nThe product is free software under the MIT licence.' },
  {
    title: 'Fonts',
    content: '# Fonts\n\nThe console draws its letters with the system font stack.',
  },
];
const PARTNER = 'https://partner.example.org';
const UNRELATED = 'zebra marmalade saxophone quartet';

interface Done {
  conversationId: string;
  finishReason: string;
  messageId: string;
  feedbackToken: string;
  cited: number[];
}

/** A loopback receiver for the site's webhook: fails the first `failFirst` deliveries with 500. */
async function startReceiver(failFirst: number) {
  const received: Array<{ body: string; signature: string }> = [];
  let failures = 0;
  const server: Server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      if (failures < failFirst) {
        failures += 1;
        res.writeHead(500).end();
        return;
      }
      received.push({ body, signature: String(req.headers['x-ragedge-signature']) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    failures: () => failures,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function until(check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe(`feedback, questions log, insights, settings, webhook (${TEST_DB})`, () => {
  let h: Harness;
  let key: string;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  const ask = async (message: string, conversationId?: string) => {
    const response = await h.request('POST', '/api/v1/sites/docs/chat', {
      token: null,
      json: conversationId === undefined ? { message } : { message, conversationId },
      headers: { origin: PARTNER, 'x-site-key': key },
    });
    expect(response.status).toBe(200);
    const items = await readSse(response.body!);
    const meta = items.find((item) => item.event === 'meta')!.data as { conversationId: string };
    const done = items.find((item) => item.event === 'done')!.data as Done;
    return { ...done, conversationId: meta.conversationId };
  };
  const vote = (messageId: string, body: unknown, headers: Record<string, string> = {}) =>
    h.request('POST', `/api/v1/sites/docs/messages/${messageId}/feedback`, {
      token: null,
      json: body,
      headers: { origin: PARTNER, 'x-site-key': key, ...headers },
    });

  beforeAll(async () => {
    receiver = await startReceiver(1);
    h = await startHarness({ env: { WEBHOOK_RETRY_MS: '50' } });
    const created = await h.request('POST', '/api/v1/sites', {
      json: { name: 'docs', allowedOrigins: [PARTNER] },
    });
    key = (await created.json()).site.publicKey;
    expect(
      (await h.request('POST', '/api/v1/sites/docs/documents', { json: { documents: DOCS } }))
        .status,
    ).toBe(201);
    const patched = await h.request('PATCH', '/api/v1/sites/docs', {
      json: { settings: { handoffUrl: 'mailto:help@example.org' } },
    });
    expect(patched.status).toBe(200);
    // The API takes https: webhooks only; this receiver is plain HTTP on loopback, so it is set
    // in the row directly.
    await h.services.db.pool.query(
      `update sites set settings = settings || jsonb_build_object('webhookUrl', $1::text) where name = 'docs'`,
      [receiver.url],
    );
  });
  afterAll(async () => {
    await h?.close();
    await receiver?.close();
  });

  it('gives each stored answer a message id and a feedback token in `done`', async () => {
    const done = await ask('How do I restore a backup?');
    expect(done.finishReason).toBe('stop');
    expect(done.messageId).toMatch(/^\d+$/);
    expect(done.feedbackToken).toMatch(/^[\w-]{43}$/);
    const other = await ask('How many dumps does the backup keep?');
    expect(other.messageId).not.toBe(done.messageId);
    expect(other.feedbackToken).not.toBe(done.feedbackToken);
  });

  it('takes one vote per answer from the reader who got it, and lets them change it', async () => {
    const done = await ask('Where does the backup job keep its dumps?');
    const up = await vote(done.messageId, { rating: 'up', token: done.feedbackToken });
    expect(up.status).toBe(200);
    expect((await up.json()).feedback).toMatchObject({
      messageId: done.messageId,
      rating: 'up',
      comment: null,
    });
    const down = await vote(done.messageId, {
      rating: 'down',
      comment: 'It does not say which server.',
      token: done.feedbackToken,
    });
    expect(down.status).toBe(200);
    const { rows } = await h.services.db.pool.query(
      'select rating, comment from feedback where message_id = $1',
      [done.messageId],
    );
    expect(rows).toEqual([{ rating: 'down', comment: 'It does not say which server.' }]);
    // The site's webhook hears of the downvote, signed, after one failed delivery is retried.
    await until(() =>
      receiver.received.some((r) => JSON.parse(r.body).type === 'answer.downvoted'),
    );
    expect(receiver.failures()).toBe(1);
    const delivery = receiver.received.find((r) => JSON.parse(r.body).type === 'answer.downvoted')!;
    const event = JSON.parse(delivery.body);
    expect(event).toMatchObject({
      site: 'docs',
      messageId: done.messageId,
      question: 'Where does the backup job keep its dumps?',
      comment: 'It does not say which server.',
    });
    const { webhook } = await (await h.request('GET', '/api/v1/sites/docs/webhook')).json();
    expect(webhook).toEqual({
      url: receiver.url,
      secret: expect.stringMatching(/^whsec_[\w-]{43}$/),
    });
    const timestamp = Number(/t=(\d+)/.exec(delivery.signature)![1]);
    expect(delivery.signature).toBe(webhookSignature(webhook.secret, timestamp, delivery.body));
  });

  it('refuses a vote from a reader who did not receive that answer', async () => {
    const mine = await ask('What does the nightly job run?');
    const theirs = await ask('What licence is the product under?');
    const without = await vote(mine.messageId, { rating: 'down' });
    expect(without.status).toBe(403);
    const wrong = await vote(mine.messageId, { rating: 'down', token: theirs.feedbackToken });
    expect(wrong.status).toBe(403);
    expect((await wrong.json()).error.code).toBe('forbidden');
    const forged = await vote(mine.messageId, { rating: 'down', token: 'x'.repeat(43) });
    expect(forged.status).toBe(403);
    const { rows } = await h.services.db.pool.query(
      'select count(*)::int as n from feedback where message_id = $1',
      [mine.messageId],
    );
    expect(rows[0].n).toBe(0);
    // The admin needs no token; a message id of no answer of this site is a 404.
    const admin = await h.request(
      'POST',
      `/api/v1/sites/docs/messages/${mine.messageId}/feedback`,
      {
        json: { rating: 'up' },
      },
    );
    expect(admin.status).toBe(200);
    const question = await h.request(
      'POST',
      `/api/v1/sites/docs/messages/${Number(mine.messageId) - 1}/feedback`,
      { json: { rating: 'up' } },
    );
    expect(question.status).toBe(404);
  });

  it('validates votes: rating, comment length, message id', async () => {
    const done = await ask('How do I restore a backup into a scratch database?');
    const cases: unknown[] = [
      { rating: 'meh', token: done.feedbackToken },
      { rating: 'up', comment: 'x'.repeat(1001), token: done.feedbackToken },
      { rating: 'up', token: done.feedbackToken, extra: 1 },
    ];
    for (const body of cases) {
      const response = await vote(done.messageId, body);
      expect(response.status).toBe(400);
      expect((await response.json()).error.code).toBe('validation_failed');
    }
    expect((await vote('abc', { rating: 'up', token: done.feedbackToken })).status).toBe(400);
  });

  it('logs questions with answer, outcome, citations and feedback, filtered and paged', async () => {
    const refused = await ask(UNRELATED);
    expect(refused.finishReason).toBe('no_answer');
    const all = await (await h.request('GET', '/api/v1/sites/docs/questions?limit=200')).json();
    expect(all.questions.length).toBeGreaterThanOrEqual(7);
    const newest = all.questions[0];
    expect(newest).toMatchObject({
      messageId: refused.messageId,
      question: UNRELATED,
      outcome: 'no_answer',
      cited: [],
      feedback: null,
    });
    const answered = all.questions.find(
      (q: { question: string }) => q.question === 'How do I restore a backup?',
    );
    expect(answered.outcome).toBe('answered');
    expect(answered.cited.map((c: { title: string }) => c.title)).toContain('Restoring');
    expect(answered.ttftMs).toBeGreaterThanOrEqual(0);

    const unanswered = await (
      await h.request('GET', '/api/v1/sites/docs/questions?filter=unanswered')
    ).json();
    expect(unanswered.questions.map((q: { question: string }) => q.question)).toEqual([UNRELATED]);
    const downvoted = await (
      await h.request('GET', '/api/v1/sites/docs/questions?filter=downvoted')
    ).json();
    expect(downvoted.questions).toHaveLength(1);
    expect(downvoted.questions[0]).toMatchObject({
      question: 'Where does the backup job keep its dumps?',
      feedback: { rating: 'down', comment: 'It does not say which server.' },
    });

    const first = await (await h.request('GET', '/api/v1/sites/docs/questions?limit=2')).json();
    expect(first.questions).toHaveLength(2);
    const second = await (
      await h.request('GET', `/api/v1/sites/docs/questions?limit=2&before=${first.nextBefore}`)
    ).json();
    expect(second.questions[0].messageId).toBe(all.questions[2].messageId);
    const future = new Date(Date.now() + 60_000).toISOString();
    const none = await (
      await h.request('GET', `/api/v1/sites/docs/questions?since=${encodeURIComponent(future)}`)
    ).json();
    expect(none.questions).toEqual([]);
    for (const query of [
      'filter=some',
      'limit=0',
      'limit=201',
      'since=yesterday',
      'before=x',
      'x=1',
    ]) {
      const bad = await h.request('GET', `/api/v1/sites/docs/questions?${query}`);
      expect(bad.status, query).toBe(400);
    }
    // The webhook heard of the refusal too.
    await until(() =>
      receiver.received.some((r) => JSON.parse(r.body).type === 'question.unanswered'),
    );
  });

  it('reports outcomes per day, TTFT, votes, groups by meaning, gaps and citations', async () => {
    // The same gap asked three ways (one a follow-up, stored without an embedding until now).
    const first = await ask('zebra marmalade saxophone quartet tonight');
    await ask(UNRELATED, first.conversationId);
    const response = await h.request('GET', '/api/v1/sites/docs/insights?days=7');
    expect(response.status).toBe(200);
    const { insights } = await response.json();
    const today = new Date().toISOString().slice(0, 10);
    expect(insights.outcomes.byDay).toHaveLength(1);
    expect(insights.outcomes.byDay[0]).toMatchObject({ day: today, no_answer: 3 });
    expect(insights.outcomes.total.no_answer).toBe(3);
    expect(insights.outcomes.total.answered).toBeGreaterThanOrEqual(6);
    expect(insights.ttftMs.p50).toBeGreaterThanOrEqual(0);
    expect(insights.ttftMs.p99).toBeGreaterThanOrEqual(insights.ttftMs.p50);
    expect(insights.feedback).toEqual({ up: 1, down: 1 });
    const gap = insights.coverageGaps[0];
    expect(gap).toMatchObject({ question: UNRELATED, unanswered: 3, count: 3 });
    expect(insights.topQuestions[0].count).toBeGreaterThanOrEqual(3);
    expect(insights.mostCited.map((d: { title: string }) => d.title)).toContain('Restoring');
    // Nobody asked about fonts, so that document was never cited.
    expect(insights.neverCited.documents.map((d: { title: string }) => d.title)).toEqual(['Fonts']);
    expect(insights.neverCited.total).toBe(1);
    const { rows } = await h.services.db.pool.query(
      `select count(*)::int as n from messages where role = 'user' and question_embedding is null`,
    );
    expect(rows[0].n).toBe(0);
    for (const query of ['days=0', 'days=366', 'days=x', 'x=1']) {
      expect((await h.request('GET', `/api/v1/sites/docs/insights?${query}`)).status).toBe(400);
    }
  });

  it('keeps settings: merged, removable, hand-off links only https: or mailto:', async () => {
    const set = await h.request('PATCH', '/api/v1/sites/docs', {
      json: { settings: { handoffUrl: 'https://example.org/contact', lang: 'en' } },
    });
    const { site } = await set.json();
    expect(site.settings).toMatchObject({
      handoffUrl: 'https://example.org/contact',
      lang: 'en',
      webhookUrl: receiver.url,
    });
    // Each site has its own webhook secret, and a site without a webhook says so.
    await h.request('POST', '/api/v1/sites', { json: { name: 'quiet' } });
    const quiet = (await (await h.request('GET', '/api/v1/sites/quiet/webhook')).json()).webhook;
    const docs = (await (await h.request('GET', '/api/v1/sites/docs/webhook')).json()).webhook;
    expect(quiet.url).toBeNull();
    expect(quiet.secret).not.toBe(docs.secret);
    const removed = await h.request('PATCH', '/api/v1/sites/docs', {
      json: { settings: { lang: null } },
    });
    expect((await removed.json()).site.settings.lang).toBeUndefined();
    for (const handoffUrl of ['javascript:alert(1)', 'http://example.org', 'ftp://x', '']) {
      const bad = await h.request('PATCH', '/api/v1/sites/docs', {
        json: { settings: { handoffUrl } },
      });
      expect(bad.status, handoffUrl).toBe(400);
    }
    const unknown = await h.request('PATCH', '/api/v1/sites/docs', {
      json: { settings: { webhookSecret: 'mine' } },
    });
    expect(unknown.status).toBe(400);
  });

  it('counts chat outcomes with no_answer and votes by rating in the metrics', async () => {
    const text = await h.services.metrics.registry.metrics();
    expect(text).toMatch(/ragedge_chat_turns_total\{outcome="no_answer"\} [1-9]/);
    expect(text).toMatch(/ragedge_feedback_votes_total\{rating="down"\} 1\b/);
    expect(text).toMatch(/ragedge_feedback_votes_total\{rating="up"\} 2\b/);
  });

  it('prints the log and the insights in the CLI (`rag questions`, `rag insights`)', async () => {
    const server = serve({ fetch: h.app.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const api = new ApiClient(`http://127.0.0.1:${port}`, ADMIN_TOKEN);
      let out = '';
      const write = (text: string) => {
        out += text;
      };
      await questionsCommand(api, 'docs', { filter: 'downvoted', limit: 10 }, write);
      expect(out).toContain('Q: Where does the backup job keep its dumps?');
      expect(out).toContain('👎 "It does not say which server."');
      expect(out).not.toContain(UNRELATED);
      out = '';
      await questionsCommand(api, 'docs', { filter: 'unanswered', limit: 10 }, write);
      expect(out.match(/UNANSWERED/g)).toHaveLength(3);
      out = '';
      await insightsCommand(api, 'docs', 7, write);
      expect(out).toMatch(/unanswered 3\b/);
      expect(out).toMatch(
        /Coverage gaps[^\n]*\n\s+3×\s+zebra marmalade saxophone quartet\s+\(3 unanswered\)/,
      );
      expect(out).toMatch(/Never cited: 1 documents\n\s+Fonts/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('lets retention take feedback and the question log with the conversations they belong to', async () => {
    const done = await ask('How long are the dumps kept?');
    expect((await vote(done.messageId, { rating: 'down', token: done.feedbackToken })).status).toBe(
      200,
    );
    const pool = h.services.db.pool;
    await pool.query(
      `update conversations set updated_at = now() - interval '400 days' where id = $1`,
      [done.conversationId],
    );
    await pool.query(
      `update messages set created_at = now() - interval '400 days' where conversation_id = $1`,
      [done.conversationId],
    );
    await h.services.retention.run();
    const { rows } = await pool.query(
      `select (select count(*)::int from feedback where message_id = $1) as feedback,
              (select count(*)::int from messages where conversation_id = $2) as messages`,
      [done.messageId, done.conversationId],
    );
    expect(rows[0]).toEqual({ feedback: 0, messages: 0 });
    const log = await (await h.request('GET', '/api/v1/sites/docs/questions?limit=200')).json();
    expect(log.questions.map((q: { messageId: string }) => q.messageId)).not.toContain(
      done.messageId,
    );
  });
});
