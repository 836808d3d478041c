import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness, TEST_DB } from './harness.js';
import { type PrivateServer, startPrivateRedis } from './private-services.js';
import { answerText, readSse, type SseItem } from './sse.js';

const EDGE_SECRET = 'edge-secret-for-tests-0123456789';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe(`Redis stopped and started again under a running origin (private Redis, ${TEST_DB})`, () => {
  let redis: PrivateServer | undefined;
  let h: Harness;
  let siteKey: string;
  let ip = 0;
  beforeAll(async () => {
    redis = await startPrivateRedis();
    h = await startHarness({
      env: {
        REDIS_URL: redis.url,
        RATE_LIMIT_REDIS_URL: redis.url,
        EDGE_SHARED_SECRET: EDGE_SECRET,
        RATE_LIMIT_CHAT_PER_MINUTE: '3',
        CACHE_SIMILARITY: '0.8',
      },
    });
    const created = await h.request('POST', '/api/v1/sites', {
      json: { name: 'docs' },
      headers: { 'x-edge-secret': EDGE_SECRET },
    });
    const createdBody = await created.json();
    expect(createdBody).toMatchObject({ site: { name: 'docs' } });
    siteKey = createdBody.site.publicKey;
    const response = await h.request('POST', '/api/v1/sites/docs/documents', {
      headers: { 'x-edge-secret': EDGE_SECRET },
      json: {
        documents: [
          {
            title: 'Restoring',
            content:
              '# Restore\n\nTo restore a backup, create a scratch database and load the dump.',
          },
          { title: 'Widget', content: '# Widget\n\nEmbed the widget with one script tag.' },
        ],
      },
    });
    expect(response.status).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    await redis?.destroy();
  });

  /** A reader's question through the edge, from `clientIp` (a new address unless given). */
  const ask = async (message: string, clientIp = `10.1.0.${++ip}`) =>
    h.request('POST', '/api/v1/sites/docs/chat', {
      json: { message },
      token: null,
      headers: { 'x-site-key': siteKey, 'x-edge-secret': EDGE_SECRET, 'x-client-ip': clientIp },
    });
  const answer = async (message: string): Promise<SseItem[]> => {
    const response = await ask(message);
    expect(response.status).toBe(200);
    const items = await readSse(response.body!, { timeoutMs: 20_000 });
    expect(items.at(-1)!.event).toBe('done');
    expect(answerText(items).length).toBeGreaterThan(10);
    return items;
  };
  const cacheOf = (items: SseItem[]) =>
    (items.find((i) => i.event === 'meta')!.data as { cache: string }).cache;
  const health = async () => {
    const response = await h.request('GET', '/api/v1/health', {
      headers: { 'x-edge-secret': EDGE_SECRET },
    });
    return { status: response.status, body: await response.json() };
  };

  it('chat keeps working on cache misses and in-process limits while Redis is down, health says so, and all comes back by itself', async () => {
    expect((await health()).body).toMatchObject({
      cache: { kind: 'redis', status: 'up' },
      limits: { kind: 'redis', status: 'up' },
    });
    expect(cacheOf(await answer('How do I restore a backup?'))).toBe('miss');
    expect(cacheOf(await answer('How do I restore a backup?'))).toBe('hit');

    await redis!.stop();
    const down = await health();
    // The database serves, so the origin is up; the report names what is missing.
    expect(down.status).toBe(200);
    expect(down.body).toMatchObject({
      status: 'ok',
      cache: { kind: 'redis', status: 'down' },
      limits: { kind: 'redis', status: 'down' },
    });
    // The cache is skipped: a question asked before is answered again, as a miss.
    const started = performance.now();
    expect(cacheOf(await answer('How do I restore a backup?'))).toBe('miss');
    expect(cacheOf(await answer('How do I embed the widget?'))).toBe('miss');
    expect(performance.now() - started).toBeLessThan(10_000);
    // Limits fall back to counting in this process (rate-limiter-flexible's insurance limiter):
    // the fourth question a minute from one reader is still refused.
    const one = '10.1.1.1';
    for (let i = 0; i < 3; i += 1) {
      const allowed = await ask(`widget question ${i}`, one);
      expect(allowed.status).toBe(200);
      await readSse(allowed.body!, { timeoutMs: 20_000 });
    }
    const limited = await ask('widget question 4', one);
    expect(limited.status).toBe(429);
    expect((await limited.json()).error.code).toBe('rate_limited');

    await redis!.start();
    const backAt = performance.now();
    let back = await health();
    while (
      (back.body.cache.status !== 'up' || back.body.limits.status !== 'up') &&
      performance.now() - backAt < 15_000
    ) {
      await sleep(100);
      back = await health();
    }
    expect(back.body).toMatchObject({ cache: { status: 'up' }, limits: { status: 'up' } });
    expect(performance.now() - backAt).toBeLessThan(10_000);
    // Reconnected: answers are cached in Redis again.
    expect(cacheOf(await answer('Where does the widget go?'))).toBe('miss');
    expect(cacheOf(await answer('Where does the widget go?'))).toBe('hit');
  }, 90_000);
});
