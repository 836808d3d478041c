import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OriginProcess, startOrigin } from '../../test/origin-process.js';
import { ADMIN_TOKEN, createTestDatabase, TEST_DB, type TestDatabase } from './harness.js';

const EDGE_SECRET = 'edge-secret-for-body-memory-0123456789';
const MB = 1024 * 1024;
const auth = { authorization: `Bearer ${ADMIN_TOKEN}`, 'x-edge-secret': EDGE_SECRET };

/** The resident set of a process, from the kernel (what the container's memory limit counts). */
function rssBytes(pid: number): number {
  const line = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(line?.[1] ?? Number.NaN) * 1024;
}

/** Samples a process's RSS every 10 ms until stopped; the peak seen. */
function sampleRss(pid: number): { stop(): number } {
  let peak = rssBytes(pid);
  const timer = setInterval(() => {
    peak = Math.max(peak, rssBytes(pid));
  }, 10);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, rssBytes(pid));
    },
  };
}

interface Sent {
  status: number;
  body: string;
  /** Bytes the client handed to its socket before the answer (or the refusal) came. */
  sentBytes: number;
  ms: number;
}

/**
 * POSTs `totalBytes` of JSON-looking filler in 1 MB writes (with `Content-Length`, or chunked
 * when `declare` is false), honouring backpressure, and stops writing as soon as the origin
 * answers or drops the connection.
 */
function sendBody(
  url: string,
  path: string,
  totalBytes: number,
  declare: boolean,
  headers: Record<string, string>,
): Promise<Sent> {
  const started = performance.now();
  const chunk = Buffer.alloc(MB, 0x20);
  return new Promise<Sent>((resolve, reject) => {
    let sentBytes = 0;
    let answered = false;
    const req = httpRequest(`${url}${path}`, {
      method: 'POST',
      headers: {
        'content-type': path.endsWith('/documents')
          ? 'multipart/form-data; boundary=x'
          : 'application/json',
        ...(declare ? { 'content-length': String(totalBytes) } : {}),
        ...headers,
      },
    });
    req.setTimeout(60_000, () => req.destroy(new Error('timed out')));
    req.on('response', (res) => {
      answered = true;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (part: string) => {
        body += part;
      });
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, body, sentBytes, ms: performance.now() - started });
      });
    });
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    const pump = () => {
      while (!answered && !req.destroyed && sentBytes < totalBytes) {
        sentBytes += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      if (sentBytes >= totalBytes && !answered && !req.destroyed) req.end();
    };
    pump();
  });
}

/**
 * Bodies of 100 MB (and others past their route's limit) against a real origin process: each is
 * refused with 413 having read at most about its limit, the process's RSS (sampled from the
 * kernel every 10 ms) stays within a bound, and meanwhile health and another reader's search are
 * answered. The issue measured RSS 168 → 600 MB for one such body before the limits.
 */
describe(`bodies past their limits cost no memory (${TEST_DB})`, () => {
  let database: TestDatabase;
  let origin: OriginProcess;
  let pid: number;
  let reader: Record<string, string>;
  const figures: Record<string, unknown> = {};

  beforeAll(async () => {
    database = await createTestDatabase();
    origin = await startOrigin({
      ...database.env,
      ADMIN_TOKEN,
      EMBEDDER: 'hash',
      RERANKER: 'lexical',
      EDGE_SHARED_SECRET: EDGE_SECRET,
      // Budgets out of the way: this measures memory, not rate limits.
      RATE_LIMIT_SEARCH_PER_MINUTE: '10000',
      RATE_LIMIT_CHAT_PER_MINUTE: '10000',
    });
    pid = origin.child.pid!;
    const site = await fetch(`${origin.url}/api/v1/sites`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'docs' }),
    });
    expect(site.status).toBe(201);
    const key = ((await site.json()) as { site: { publicKey: string } }).site.publicKey;
    const doc = await fetch(`${origin.url}/api/v1/sites/docs/documents`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({
        title: 'Backups',
        content: '# Backups\n\nThe nightly job runs pg_dump and keeps seven dumps.',
      }),
    });
    expect(doc.status).toBe(201);
    reader = { 'x-site-key': key, 'x-edge-secret': EDGE_SECRET, 'x-client-ip': '203.0.113.7' };
    // Warm the reader path, so that the baseline includes what a first search loads.
    for (let i = 0; i < 3; i++) expect((await search()).status).toBe(200);
  }, 120_000);

  afterAll(async () => {
    await origin?.stop();
    await database?.drop();
    if (process.env.RAGEDGE_WRITE_BENCH === '1') {
      writeFileSync(
        new URL(`../../bench/results/body-memory-${TEST_DB}.json`, import.meta.url),
        `${JSON.stringify(
          {
            benchmark: 'body-memory',
            command: `RAGEDGE_WRITE_BENCH=1 TEST_DB=${TEST_DB} npx vitest run --project integration origin/test/body-memory.test.ts`,
            database: TEST_DB,
            measuredAt: new Date().toISOString(),
            ...figures,
          },
          null,
          2,
        )}\n`,
      );
    }
  });

  const search = () =>
    fetch(`${origin.url}/api/v1/sites/docs/search`, {
      method: 'POST',
      headers: { ...reader, 'content-type': 'application/json', 'x-client-ip': '203.0.113.99' },
      body: JSON.stringify({ query: 'nightly backups', k: 3 }),
    });

  /** Health and a reader's search polled while `work` runs: their worst times. */
  async function othersDuring<T>(work: Promise<T>) {
    let done = false;
    void work.finally(() => {
      done = true;
    });
    let worstHealthMs = 0;
    let worstSearchMs = 0;
    let polls = 0;
    while (!done) {
      let started = performance.now();
      const health = await fetch(`${origin.url}/api/v1/health`);
      await health.arrayBuffer();
      expect(health.status).toBe(200);
      worstHealthMs = Math.max(worstHealthMs, performance.now() - started);
      started = performance.now();
      const found = await search();
      await found.arrayBuffer();
      expect(found.status).toBe(200);
      worstSearchMs = Math.max(worstSearchMs, performance.now() - started);
      polls += 1;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return { result: await work, worstHealthMs, worstSearchMs, polls };
  }

  it('refuses a declared 100 MB chat body with 413 before reading it', async () => {
    const before = rssBytes(pid);
    const rss = sampleRss(pid);
    const sent = await sendBody(origin.url, '/api/v1/sites/docs/chat', 100 * MB, true, reader);
    const growth = rss.stop() - before;
    expect(sent.status).toBe(413);
    expect(JSON.parse(sent.body).error.code).toBe('payload_too_large');
    // Refused on its Content-Length: the client had not got far (socket buffers hold a few MB).
    expect(sent.sentBytes).toBeLessThan(40 * MB);
    expect(growth).toBeLessThan(30 * MB);
    figures.declaredChat100MB = {
      status: sent.status,
      ms: Math.round(sent.ms),
      clientSentMB: sent.sentBytes / MB,
      rssBeforeMB: Math.round(before / MB),
      rssGrowthMB: Math.round((growth / MB) * 10) / 10,
    };
  });

  it('refuses four streamed 100 MB search bodies at once, reading about 32 kB of each, while others are answered', async () => {
    const before = rssBytes(pid);
    const rss = sampleRss(pid);
    const four = Promise.all(
      [1, 2, 3, 4].map((i) =>
        sendBody(origin.url, '/api/v1/sites/docs/search', 100 * MB, false, {
          ...reader,
          'x-client-ip': `203.0.113.${10 + i}`,
        }),
      ),
    );
    const { result, worstHealthMs, worstSearchMs, polls } = await othersDuring(four);
    const growth = rss.stop() - before;
    for (const sent of result) {
      expect(sent.status).toBe(413);
      expect(sent.sentBytes).toBeLessThan(40 * MB);
    }
    expect(polls).toBeGreaterThan(0);
    expect(growth).toBeLessThan(50 * MB);
    // Generous for a loaded CI machine: the point is "answered meanwhile", not a latency figure.
    expect(worstHealthMs).toBeLessThan(2_000);
    expect(worstSearchMs).toBeLessThan(5_000);
    figures.streamedSearch4x100MB = {
      statuses: result.map((sent) => sent.status),
      clientSentMB: result.map((sent) => sent.sentBytes / MB),
      rssBeforeMB: Math.round(before / MB),
      rssGrowthMB: Math.round((growth / MB) * 10) / 10,
      worstHealthMs: Math.round(worstHealthMs),
      worstOtherReaderSearchMs: Math.round(worstSearchMs),
      polls,
    };
  });

  it('refuses a 100 MB upload (limit 50 MB) declared or streamed, its memory bounded by the limit', async () => {
    const before = rssBytes(pid);
    const rss = sampleRss(pid);
    const declared = await sendBody(
      origin.url,
      '/api/v1/sites/docs/documents',
      100 * MB,
      true,
      auth,
    );
    const declaredGrowth = rss.stop() - before;
    expect(declared.status).toBe(413);
    expect(declared.sentBytes).toBeLessThan(40 * MB);
    expect(declaredGrowth).toBeLessThan(30 * MB);

    const streamedBefore = rssBytes(pid);
    const streamedRss = sampleRss(pid);
    const { result: streamed, worstHealthMs } = await othersDuring(
      sendBody(origin.url, '/api/v1/sites/docs/documents', 100 * MB, false, auth),
    );
    const streamedGrowth = streamedRss.stop() - streamedBefore;
    expect(streamed.status).toBe(413);
    expect(JSON.parse(streamed.body).error.code).toBe('payload_too_large');
    // Read up to the 50 MB limit, then refused: never the whole 100 MB.
    expect(streamed.sentBytes).toBeLessThan(90 * MB);
    expect(streamedGrowth).toBeLessThan(150 * MB);
    expect(worstHealthMs).toBeLessThan(2_000);
    figures.upload100MB = {
      declared: {
        status: declared.status,
        clientSentMB: declared.sentBytes / MB,
        rssGrowthMB: Math.round((declaredGrowth / MB) * 10) / 10,
      },
      streamed: {
        status: streamed.status,
        clientSentMB: streamed.sentBytes / MB,
        rssBeforeMB: Math.round(streamedBefore / MB),
        rssGrowthMB: Math.round((streamedGrowth / MB) * 10) / 10,
        worstHealthMs: Math.round(worstHealthMs),
      },
    };
  });
});
