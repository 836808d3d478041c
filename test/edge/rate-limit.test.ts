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

  const post = (site: string, route: 'chat' | 'search', key: string) =>
    fetch(`${edge.url}/api/v1/sites/${site}/${route}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Site-Key': key },
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

  it('counts per site key and per budget: another key and the search budget are untouched', async () => {
    for (let i = 0; i < CHAT_LIMIT * 2 + 1; i += 1)
      await (await post('spent', 'chat', 'pk_spent')).arrayBuffer();
    const spent = await post('spent', 'chat', 'pk_spent');
    expect(spent.status).toBe(429);
    const otherKey = await post('spent', 'chat', 'pk_other');
    expect(otherKey.status).toBe(200);
    await otherKey.arrayBuffer();
    const search = await post('spent', 'search', 'pk_spent');
    expect(search.status).toBe(200);
    await search.arrayBuffer();
  });
});
