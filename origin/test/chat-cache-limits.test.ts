import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness, TEST_DB } from './harness.js';
import { answerText, readSse, type SseItem } from './sse.js';

const EDGE_SECRET = 'edge-secret-for-tests-0123456789';
const REDIS = process.env.TEST_REDIS_URL;

const backends: Array<[string, Record<string, string>]> = [['in-process', {}]];
if (REDIS !== undefined)
  backends.push(['redis', { REDIS_URL: REDIS, RATE_LIMIT_REDIS_URL: REDIS }]);

for (const [backend, redisEnv] of backends) {
  describe(`answer cache and rate limits, ${backend} (${TEST_DB})`, () => {
    let h: Harness;
    let siteKey: string;
    beforeAll(async () => {
      h = await startHarness({
        env: {
          ...redisEnv,
          REDIS_KEY_PREFIX: `test-${randomBytes(6).toString('hex')}:`,
          EDGE_SHARED_SECRET: EDGE_SECRET,
          RATE_LIMIT_CHAT_PER_MINUTE: '3',
          CACHE_SIMILARITY: '0.8',
        },
      });
      const created = await h.request('POST', '/api/v1/sites', {
        json: { name: 'docs' },
        headers: { 'x-edge-secret': EDGE_SECRET },
      });
      siteKey = (await created.json()).site.publicKey;
      const response = await h.request('POST', '/api/v1/sites/docs/documents', {
        headers: { 'x-edge-secret': EDGE_SECRET },
        json: {
          documents: [
            {
              title: 'Restoring',
              content:
                '# Restore\n\nTo restore a backup, create a scratch database and load the newest dump.',
            },
            {
              title: 'Backups',
              content: '# Backups\n\nThe nightly job runs pg_dump and keeps seven dumps.',
            },
          ],
        },
      });
      expect(response.status).toBe(201);
    });
    afterAll(async () => {
      await h?.close();
    });

    let ip = 0;
    /** Each call comes from a new client address (through the edge), so only the cache is in play. */
    const ask = async (message: string): Promise<SseItem[]> => {
      ip += 1;
      const response = await h.request('POST', '/api/v1/sites/docs/chat', {
        json: { message },
        token: null,
        headers: {
          'x-site-key': siteKey,
          'x-edge-secret': EDGE_SECRET,
          'x-client-ip': `10.0.0.${ip}`,
        },
      });
      expect(response.status).toBe(200);
      return readSse(response.body!);
    };
    const cacheOf = (items: SseItem[]) =>
      (items.find((i) => i.event === 'meta')!.data as { cache: string }).cache;

    it('answers a repeated and a paraphrased question from the cache, and a document change makes them miss', async () => {
      const first = await ask('How do I restore a backup?');
      expect(cacheOf(first)).toBe('miss');
      const repeated = await ask('how do I restore a backup');
      expect(cacheOf(repeated)).toBe('hit');
      expect(answerText(repeated)).toBe(answerText(first));
      expect(repeated.at(-1)!.data).toMatchObject({
        cache: 'hit',
        cited: (first.at(-1)!.data as { cited: number[] }).cited,
      });
      const paraphrased = await ask('How do I restore backups?');
      expect(cacheOf(paraphrased)).toBe('hit');

      const change = await h.request('POST', '/api/v1/sites/docs/documents', {
        json: { title: 'Widget', content: 'Embed the widget with one script tag.' },
        headers: { 'x-edge-secret': EDGE_SECRET },
      });
      expect(change.status).toBe(201);
      expect(cacheOf(await ask('How do I restore a backup?'))).toBe('miss');
      expect(cacheOf(await ask('How do I restore backups?'))).toBe('hit');
    });

    it('refuses a burst past the budget with 429 and Retry-After, and leaves another client alone', async () => {
      const from = (address: string) =>
        h.request('POST', '/api/v1/sites/docs/chat', {
          json: { message: 'Where are the dumps kept?' },
          token: null,
          headers: { 'x-site-key': siteKey, 'x-edge-secret': EDGE_SECRET, 'x-client-ip': address },
        });
      const statuses: number[] = [];
      for (let i = 0; i < 30; i += 1) {
        const response = await from('192.0.2.7');
        statuses.push(response.status);
        if (response.status === 200) await readSse(response.body!);
        else {
          expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
          expect((await response.json()).error.code).toBe('rate_limited');
        }
      }
      expect(statuses.filter((s) => s === 200)).toHaveLength(3);
      expect(statuses.slice(3).every((s) => s === 429)).toBe(true);
      const other = await from('192.0.2.8');
      expect(other.status).toBe(200);
      await readSse(other.body!);
    });

    it('never limits the operator, who uses the admin token', async () => {
      for (let i = 0; i < 10; i += 1) {
        const response = await h.request('POST', '/api/v1/sites/docs/search', {
          json: { query: 'dumps', k: 1 },
          headers: { 'x-edge-secret': EDGE_SECRET },
        });
        expect(response.status).toBe(200);
      }
    });

    it('refuses a request with a wrong edge secret, whatever client address it claims', async () => {
      const spoof = (address: string) =>
        h.request('POST', '/api/v1/sites/docs/chat', {
          json: { message: 'Where are the dumps kept?' },
          token: null,
          headers: { 'x-site-key': siteKey, 'x-edge-secret': 'wrong', 'x-client-ip': address },
        });
      for (let i = 0; i < 5; i += 1) {
        const response = await spoof(`198.51.100.${i}`);
        expect(response.status).toBe(403);
        expect((await response.json()).error.code).toBe('forbidden');
      }
    });
  });
}
