import { randomBytes } from 'node:crypto';
import { request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import {
  ADMIN_TOKEN,
  type Harness,
  type RequestOptions,
  startHarness,
  TEST_DB,
} from './harness.js';
import { type LlmStub, startLlmStub } from './llm-stub.js';
import { readSse } from './sse.js';

const REDIS = process.env.TEST_REDIS_URL;
const EDGE_SECRET = `edge-secret-${randomBytes(12).toString('hex')}`;
const LLM_API_KEY = `sk-llm-${randomBytes(12).toString('hex')}`;
/** Text that must never reach an info log line: a question and a passage of a document. */
const QUESTION = `Which harbour does the quokka ferry ${randomBytes(4).toString('hex')} leave from?`;
const DOC_SENTENCE = `The quokka ferry leaves from the harbour of Tintagel ${randomBytes(4).toString('hex')} every morning.`;
const EDGE_REQUEST_ID = `edge-${randomBytes(8).toString('hex')}`;

/** One sample of the Prometheus text exposition. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (match === null) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const label of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[label[1]!] = label[2]!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The sum of the samples of `name` whose labels include `labels`. */
function total(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter(
      (s) =>
        s.name === name && Object.entries(labels).every(([key, value]) => s.labels[key] === value),
    )
    .reduce((sum, s) => sum + s.value, 0);
}

describe(`metrics and logs (${TEST_DB})`, () => {
  let h: Harness;
  let llm: LlmStub;
  let server: ServerType;
  let base: string;
  let siteKey: string;
  const lines: Array<{ level: number; raw: string; parsed: Record<string, unknown> }> = [];

  beforeAll(async () => {
    llm = await startLlmStub();
    // Debug level, so that the test sees the question where it belongs (debug) and can tell
    // that the level, not a broken capture, keeps it out of info.
    const logger = createLogger('debug', {
      write(line: string) {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        lines.push({ level: Number(parsed.level), raw: line, parsed });
      },
    });
    h = await startHarness({
      logger,
      env: {
        LLM_BASE_URL: llm.url,
        LLM_API_KEY,
        LLM_MODEL: 'echo',
        // A reranker that needs no model, so that rerank timings are recorded.
        RERANKER: 'lexical',
        EDGE_SHARED_SECRET: EDGE_SECRET,
        RATE_LIMIT_CHAT_PER_MINUTE: '3',
        REDIS_KEY_PREFIX: `test-metrics-${randomBytes(6).toString('hex')}:`,
        ...(REDIS === undefined ? {} : { REDIS_URL: REDIS }),
      },
    });
    server = serve({ fetch: h.app.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', () => resolve());
      server.once('error', reject);
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const created = await h.request('POST', '/api/v1/sites', {
      json: { name: 'ferries' },
      headers: { 'x-edge-secret': EDGE_SECRET },
    });
    expect(created.status).toBe(201);
    siteKey = (await created.json()).site.publicKey;
  }, 60_000);

  afterAll(async () => {
    if (server !== undefined) {
      // Keep-alive sockets from fetch would hold close() open.
      (server as Server).closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await h?.close();
    await llm?.close();
  });

  /** A request as the edge sends it: every route but health and /metrics needs its secret. */
  const viaEdge = (method: string, path: string, options: RequestOptions = {}) =>
    h.request(method, path, {
      ...options,
      headers: { 'x-edge-secret': EDGE_SECRET, ...options.headers },
    });

  const scrape = async (): Promise<Sample[]> => {
    const response = await h.request('GET', '/metrics');
    expect(response.status).toBe(200);
    return parseExposition(await response.text());
  };

  /** A reader's chat through the edge from `clientIp`; resolves with the status and the events. */
  const chat = async (clientIp: string, headers: Record<string, string> = {}) => {
    const response = await viaEdge('POST', '/api/v1/sites/ferries/chat', {
      json: { message: QUESTION },
      token: null,
      headers: {
        'x-site-key': siteKey,
        'x-edge-secret': EDGE_SECRET,
        'x-client-ip': clientIp,
        ...headers,
      },
    });
    if (response.status !== 200) return { status: response.status, body: await response.json() };
    const events = await readSse(response.body!, { timeoutMs: 30_000 });
    return { status: 200, events };
  };

  describe('GET /metrics access', () => {
    it('refuses a caller that is not on loopback without the token (401), and a wrong token (403)', async () => {
      // In process there is no socket: the peer is unknown, so it is not loopback.
      const anonymous = await h.request('GET', '/metrics', { token: null });
      expect(anonymous.status).toBe(401);
      const body = await anonymous.json();
      expect(body.error).toMatchObject({ code: 'unauthorized' });
      expect(typeof body.error.requestId).toBe('string');
      expect(JSON.stringify(body)).not.toContain('ragedge_');
      const spoofed = await h.request('GET', '/metrics', {
        token: null,
        headers: { 'x-forwarded-for': '127.0.0.1', 'x-client-ip': '127.0.0.1' },
      });
      expect(spoofed.status).toBe(403);
      const wrong = await h.request('GET', '/metrics', { token: `${ADMIN_TOKEN}-not` });
      expect(wrong.status).toBe(403);
      expect((await wrong.json()).error.code).toBe('forbidden');
    });

    it('serves the exposition with the admin token', async () => {
      const response = await h.request('GET', '/metrics');
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await response.text();
      expect(text).toContain('# TYPE ragedge_http_requests_total counter');
      expect(text).toContain('# TYPE process_resident_memory_bytes gauge');
    });

    it('over a real socket: lets a direct loopback caller in, not one that came through the edge or a proxy', async () => {
      const get = (headers: Record<string, string>) =>
        fetch(`${base}/metrics`, { headers, signal: AbortSignal.timeout(10_000) });
      const direct = await get({});
      expect(direct.status).toBe(200);
      expect(await direct.text()).toContain('ragedge_db_pool_clients');
      const proxied: Array<Record<string, string>> = [
        { 'x-forwarded-for': '127.0.0.1' },
        { 'x-real-ip': '127.0.0.1' },
        { 'x-client-ip': '127.0.0.1' },
        { 'x-edge-secret': EDGE_SECRET },
        { 'x-edge-secret': EDGE_SECRET, 'x-client-ip': '127.0.0.1' },
      ];
      for (const headers of proxied) {
        const refused = await get(headers);
        expect(refused.status, JSON.stringify(headers)).toBe(403);
        expect(((await refused.json()) as { error: { code: string } }).error.code).toBe(
          'forbidden',
        );
      }
      const withToken = await get({
        'x-edge-secret': EDGE_SECRET,
        authorization: `Bearer ${ADMIN_TOKEN}`,
      });
      expect(withToken.status).toBe(200);
      await withToken.text();
    });

    it('over a real socket: refuses a loopback caller under a rebound host name, unless it has the token', async () => {
      const port = (server.address() as AddressInfo).port;
      // node:http, not fetch: the Host header is what a DNS-rebinding page controls.
      const get = (host: string, headers: Record<string, string> = {}) =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          const req = httpRequest(
            { host: '127.0.0.1', port, path: '/metrics', headers: { host, ...headers } },
            (res) => {
              let body = '';
              res.setEncoding('utf8');
              res.on('data', (part: string) => {
                body += part;
              });
              res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
            },
          );
          req.setTimeout(10_000, () => req.destroy(new Error('timed out')));
          req.on('error', reject);
          req.end();
        });
      for (const host of [
        `attacker.example:${port}`,
        'attacker.example',
        `127.0.0.1.nip.io:${port}`,
      ]) {
        const refused = await get(host);
        expect(refused.status, host).toBe(403);
        const body = JSON.parse(refused.body) as { error: { code: string; requestId: string } };
        expect(body.error.code).toBe('forbidden');
        expect(typeof body.error.requestId).toBe('string');
        expect(refused.body).not.toContain('ragedge_');
      }
      for (const host of [`localhost:${port}`, `127.0.0.1:${port}`]) {
        const allowed = await get(host);
        expect(allowed.status, host).toBe(200);
        expect(allowed.body).toContain('ragedge_http_requests_total');
      }
      const withToken = await get('attacker.example', { authorization: `Bearer ${ADMIN_TOKEN}` });
      expect(withToken.status).toBe(200);
    });
  });

  describe('after ingest, search, chat, a cache hit and a 429', () => {
    let before: Sample[];
    let after: Sample[];
    let chunks: number;
    const delta = (name: string, labels: Record<string, string> = {}) =>
      total(after, name, labels) - total(before, name, labels);

    beforeAll(async () => {
      before = await scrape();
      const ingested = await viaEdge('POST', '/api/v1/sites/ferries/documents', {
        json: {
          title: 'Ferries',
          content: `# Ferries\n\n${DOC_SENTENCE}\n\n## Tickets\n\nTickets are sold on board, cash only.`,
        },
      });
      expect(ingested.status).toBe(201);
      chunks = (await ingested.json()).document.chunkCount;
      const search = await viaEdge('POST', '/api/v1/sites/ferries/search', {
        json: { query: 'quokka ferry harbour', k: 3 },
      });
      expect(search.status).toBe(200);
      // First question: a miss, answered by the (stub) LLM; then the same question is an exact hit.
      const first = await chat('10.1.0.1', { 'x-request-id': EDGE_REQUEST_ID });
      expect(first.status).toBe(200);
      expect(first.events!.find((e) => e.event === 'meta')!.data).toMatchObject({ cache: 'miss' });
      // One client asks four times on a budget of three: hit, hit, hit, then 429.
      const statuses: number[] = [];
      for (let i = 0; i < 4; i += 1) {
        const repeated = await chat('10.1.0.2');
        statuses.push(repeated.status);
        if (repeated.status === 200)
          expect(repeated.events!.find((e) => e.event === 'meta')!.data).toMatchObject({
            cache: 'hit',
          });
        else expect(repeated.body.error.code).toBe('rate_limited');
      }
      expect(statuses).toEqual([200, 200, 200, 429]);
      expect((await viaEdge('GET', '/no/such/path-abc123')).status).toBe(404);
      after = await scrape();
    }, 120_000);

    it('counts requests per route pattern and status, never per raw path or site', () => {
      const chatRoute = '/api/v1/sites/:site/chat';
      expect(delta('ragedge_http_requests_total', { route: chatRoute, status: '200' })).toBe(4);
      expect(delta('ragedge_http_requests_total', { route: chatRoute, status: '429' })).toBe(1);
      expect(
        delta('ragedge_http_requests_total', {
          method: 'POST',
          route: '/api/v1/sites/:site/search',
          status: '200',
        }),
      ).toBe(1);
      expect(
        delta('ragedge_http_requests_total', {
          route: '/api/v1/sites/:site/documents',
          status: '201',
        }),
      ).toBe(1);
      expect(delta('ragedge_http_requests_total', { route: 'unmatched', status: '404' })).toBe(1);
      expect(
        delta('ragedge_http_request_duration_seconds_count', { route: chatRoute, status: '200' }),
      ).toBe(4);
      const labels = after.flatMap((s) => Object.values(s.labels));
      expect(labels.some((value) => value.includes('abc123') || value.includes('ferries'))).toBe(
        false,
      );
    });

    it('records time to first token by cache outcome, chat turns, and the open streams', () => {
      expect(delta('ragedge_chat_time_to_first_token_seconds_count', { cache: 'miss' })).toBe(1);
      expect(delta('ragedge_chat_time_to_first_token_seconds_count', { cache: 'hit' })).toBe(3);
      expect(delta('ragedge_chat_time_to_first_token_seconds_sum')).toBeGreaterThan(0);
      expect(delta('ragedge_chat_turns_total', { outcome: 'complete' })).toBe(4);
      // Every stream was read to its end, so none is open any more.
      expect(total(after, 'ragedge_sse_streams_active')).toBe(0);
    });

    it('counts cache lookups per tier and rate-limit refusals per scope', () => {
      expect(delta('ragedge_answer_cache_lookups_total', { tier: 'miss' })).toBe(1);
      expect(delta('ragedge_answer_cache_lookups_total', { tier: 'exact' })).toBe(3);
      expect(delta('ragedge_answer_cache_lookups_total', { tier: 'semantic' })).toBe(0);
      expect(delta('ragedge_rate_limit_refusals_total', { scope: 'client', bucket: 'chat' })).toBe(
        1,
      );
      expect(delta('ragedge_rate_limit_refusals_total')).toBe(1);
    });

    it('times retrieval, reranking and embedding, and counts ingested chunks', () => {
      // The search and the one chat turn that was not a cache hit.
      expect(delta('ragedge_retrieval_duration_seconds_count', { mode: 'hybrid' })).toBe(2);
      expect(h.services.search.reranker?.id).toBe('lexical-v1');
      expect(delta('ragedge_rerank_duration_seconds_count')).toBe(2);
      expect(delta('ragedge_rerank_candidates_sum')).toBeGreaterThanOrEqual(chunks);
      expect(chunks).toBeGreaterThan(0);
      expect(delta('ragedge_ingested_chunks_total')).toBe(chunks);
      // One batch for the document, one query for the search, one per chat that got past the
      // limits (its cache lookup; the miss reuses that vector to search); the 429 embeds nothing.
      expect(delta('ragedge_embedding_duration_seconds_count')).toBe(1 + 1 + 4);
      expect(delta('ragedge_embedding_batch_size_sum')).toBe(chunks + 1 + 4);
    });

    it('shows the database pool, Redis and the process', () => {
      const pool = after.filter((s) => s.name.startsWith('ragedge_db_pool_'));
      expect(pool.map((s) => s.name).sort()).toEqual([
        'ragedge_db_pool_clients',
        'ragedge_db_pool_idle',
        'ragedge_db_pool_waiting',
      ]);
      expect(total(after, 'ragedge_db_pool_clients')).toBeGreaterThanOrEqual(1);
      expect(total(after, 'ragedge_db_pool_idle')).toBeLessThanOrEqual(
        total(after, 'ragedge_db_pool_clients'),
      );
      expect(total(after, 'ragedge_db_pool_waiting')).toBe(0);
      if (REDIS !== undefined) {
        expect(total(after, 'ragedge_redis_up', { role: 'cache' })).toBe(1);
        expect(total(after, 'ragedge_redis_up', { role: 'limits' })).toBe(1);
      } else {
        expect(after.some((s) => s.name === 'ragedge_redis_up')).toBe(false);
      }
      expect(total(after, 'process_resident_memory_bytes')).toBeGreaterThan(10 * 1024 * 1024);
      expect(after.some((s) => s.name === 'nodejs_eventloop_lag_p99_seconds')).toBe(true);
    });

    it('logs every request with its request id, the edge-created one when it is sane', async () => {
      const requests = lines.filter((l) => l.parsed.msg === 'request');
      expect(requests.length).toBeGreaterThan(5);
      for (const line of requests) expect(line.parsed.requestId).toMatch(/^[\w\-=]{8,128}$/);
      const traced = lines.filter((l) => l.parsed.requestId === EDGE_REQUEST_ID);
      expect(traced.map((l) => l.parsed.msg).sort()).toEqual([
        'chat question',
        'chat turn',
        'request',
      ]);
      expect(traced.find((l) => l.parsed.msg === 'request')!.parsed).toMatchObject({
        route: '/api/v1/sites/:site/chat',
        status: 200,
      });
      // An id that is too long or has characters outside [A-Za-z0-9_=-] is replaced, not logged.
      for (const incoming of ['a'.repeat(200), 'has space', 'semi;colon"quote']) {
        const response = await h.request('GET', '/api/v1/health', {
          headers: { 'x-request-id': incoming },
        });
        const given = response.headers.get('x-request-id')!;
        expect(given).toMatch(/^[0-9a-f-]{36}$/);
        expect(lines.some((l) => l.parsed.requestId === given)).toBe(true);
        expect(lines.some((l) => l.raw.includes(incoming))).toBe(false);
      }
    });

    it('keeps secrets, document text and questions out of every log line at info and above', async () => {
      // Error paths too: a wrong site key, a bad body, an unknown site, a document with no text.
      await viaEdge('POST', '/api/v1/sites/ferries/chat', {
        json: { message: QUESTION },
        token: null,
        headers: { 'x-site-key': `${siteKey}x`, 'x-edge-secret': EDGE_SECRET },
      });
      await viaEdge('POST', '/api/v1/sites/ferries/chat', {
        json: { message: QUESTION, extra: DOC_SENTENCE },
      });
      await viaEdge('POST', '/api/v1/sites/nowhere/search', { json: { query: QUESTION } });
      await viaEdge('POST', '/api/v1/sites/ferries/documents', {
        json: { title: 'Empty', content: '   ' },
      });
      await h.request('GET', '/metrics', { token: LLM_API_KEY });

      const atInfo = lines.filter((l) => l.level >= 30);
      expect(atInfo.length).toBeGreaterThan(10);
      const secrets = {
        ADMIN_TOKEN,
        LLM_API_KEY,
        EDGE_SECRET,
        siteKey,
        question: QUESTION,
        'question words': 'quokka ferry',
        document: DOC_SENTENCE,
        'document words': 'Tintagel',
      };
      for (const [what, value] of Object.entries(secrets)) {
        const leaking = atInfo.filter((l) => l.raw.includes(value));
        expect(
          leaking.map((l) => l.raw),
          what,
        ).toEqual([]);
      }
      // The question is there at debug, so the capture does see it: the level keeps it out.
      expect(lines.some((l) => l.level === 20 && l.raw.includes(QUESTION))).toBe(true);
      const turn = lines.find((l) => l.parsed.msg === 'chat turn')!.parsed;
      expect(turn).toMatchObject({ questionChars: QUESTION.length, status: 'complete' });
      expect(turn.questionHash).toMatch(/^[0-9a-f]{12}$/);
    });

    it('redacts secret fields that a careless log call would pass', () => {
      const captured: string[] = [];
      const logger = createLogger('info', { write: (line: string) => void captured.push(line) });
      logger.info(
        {
          adminToken: ADMIN_TOKEN,
          config: {
            LLM_API_KEY,
            EDGE_SHARED_SECRET: EDGE_SECRET,
            DATABASE_URL: 'postgres://u:pw@x/db',
          },
          headers: {
            authorization: `Bearer ${ADMIN_TOKEN}`,
            'x-edge-secret': EDGE_SECRET,
            'x-site-key': siteKey,
          },
        },
        'careless',
      );
      expect(captured).toHaveLength(1);
      for (const value of [ADMIN_TOKEN, LLM_API_KEY, EDGE_SECRET, siteKey, 'pw@'])
        expect(captured[0]).not.toContain(value);
      expect(captured[0]).toContain('[redacted]');
    });
  });
});
