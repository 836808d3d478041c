import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EdgeProcess, startEdge } from '../edge-process.js';
import { type StagingOrigin, startStagingOrigin } from './staging-origin.js';

/** The chat budget of wrangler.toml's CHAT_LIMITER: 10 per 10 s. */
const CHAT_LIMIT = 10;
const BURST = 30;

describe('rate limits at the edge', () => {
  let origin: StagingOrigin;
  let edge: EdgeProcess;
  beforeAll(async () => {
    origin = await startStagingOrigin();
    edge = await startEdge({ originUrls: [origin.url] });
  });
  afterAll(async () => {
    await edge?.stop();
    await origin?.close();
  });

  /** Each test's client has its own address, as Cloudflare reports it (CF-Connecting-IP). */
  const post = (site: string, route: string, key: string, ip = '192.0.2.1') =>
    fetch(`${edge.url}/api/v1/sites/${site}/${route}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Site-Key': key, 'CF-Connecting-IP': ip },
      body: JSON.stringify({ message: 'hi', query: 'hi' }),
    });

  it('refuses a chat burst past the budget with 429 at the edge; the origin sees none of the excess', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < BURST; i += 1) {
      const response = await post('burst', 'chat', 'pk_burst');
      statuses.push(response.status);
      if (response.status === 429) {
        expect(response.headers.get('retry-after')).toBe('10');
        const body = (await response.json()) as { error: Record<string, string> };
        expect(body.error.code).toBe('rate_limited');
        expect(body.error.requestId).toBe(response.headers.get('x-request-id'));
      } else {
        expect(response.status).toBe(200);
        await response.arrayBuffer();
      }
    }
    const passed = statuses.filter((status) => status === 200).length;
    const refused = statuses.filter((status) => status === 429).length;
    expect(passed + refused).toBe(BURST);
    // One budget, or two if the burst straddles a 10 s window.
    expect(passed).toBeGreaterThanOrEqual(CHAT_LIMIT);
    expect(passed).toBeLessThanOrEqual(2 * CHAT_LIMIT);
    expect(origin.count('/api/v1/sites/burst/chat')).toBe(passed);
  });

  it('counts per client, not per site key: a made-up key per request gets no fresh budget', async () => {
    const ip = '198.51.100.20';
    const statuses: number[] = [];
    for (let i = 0; i < CHAT_LIMIT * 2 + 1; i += 1) {
      const response = await post('spent', 'chat', `pk_random${i}`, ip);
      statuses.push(response.status);
      await response.arrayBuffer();
    }
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThan(0);
    expect(origin.count('/api/v1/sites/spent/chat')).toBeLessThanOrEqual(2 * CHAT_LIMIT);
    // Another client, and the same client's search budget, are untouched.
    const other = await post('spent', 'chat', 'pk_spent', '198.51.100.21');
    expect(other.status).toBe(200);
    await other.arrayBuffer();
    const search = await post('spent', 'search', 'pk_spent', ip);
    expect(search.status).toBe(200);
    await search.arrayBuffer();
  });

  it('keys IPv6 clients by /64 and classifies a percent-encoded chat path as chat', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < BURST; i += 1) {
      // `%63hat` is `chat` to the origin's router: it must pay the chat budget here too.
      const response = await post('encoded', '%63hat', 'pk_x', `2001:db8:7:7::${i.toString(16)}`);
      statuses.push(response.status);
      await response.arrayBuffer();
    }
    const passed = statuses.filter((status) => status !== 429).length;
    expect(passed).toBeLessThanOrEqual(2 * CHAT_LIMIT);
    expect(statuses).toContain(429);
  });
});
