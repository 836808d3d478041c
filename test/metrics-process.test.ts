import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, TEST_DB, type TestDatabase } from '../origin/test/harness.js';
import { type OriginProcess, startOrigin } from './origin-process.js';

const ADMIN_TOKEN = `admin-${randomBytes(16).toString('hex')}`;
const EDGE_SECRET = `edge-${randomBytes(16).toString('hex')}`;

/** The origin as `npm start` runs it: /metrics over a real socket, logs on its stdout. */
describe(`the running origin exposes /metrics and logs the edge's request id (${TEST_DB})`, () => {
  let database: TestDatabase;
  let origin: OriginProcess;

  beforeAll(async () => {
    database = await createTestDatabase();
    origin = await startOrigin({
      EMBEDDER: 'hash',
      ADMIN_TOKEN,
      EDGE_SHARED_SECRET: EDGE_SECRET,
      ...database.env,
    });
  }, 90_000);
  afterAll(async () => {
    await origin?.stop();
    await database?.drop();
  });

  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${origin.url}${path}`, { headers, signal: AbortSignal.timeout(15_000) });

  it('serves /metrics to a direct loopback caller and refuses it through the edge without the token', async () => {
    const direct = await get('/metrics');
    expect(direct.status).toBe(200);
    const text = await direct.text();
    for (const name of [
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_p99_seconds',
      'ragedge_db_pool_clients',
      'ragedge_db_pool_idle',
      'ragedge_db_pool_waiting',
    ])
      expect(text).toMatch(new RegExp(`^${name} \\d`, 'm'));
    const viaEdge = await get('/metrics', { 'x-edge-secret': EDGE_SECRET });
    expect(viaEdge.status).toBe(403);
    const body = (await viaEdge.json()) as { error: { code: string; requestId: string } };
    expect(body.error.code).toBe('forbidden');
    const withToken = await get('/metrics', {
      'x-edge-secret': EDGE_SECRET,
      authorization: `Bearer ${ADMIN_TOKEN}`,
    });
    expect(withToken.status).toBe(200);
    await withToken.text();
  });

  it('logs a request with the request id the edge sent, and no secret', async () => {
    const requestId = `edge-${randomBytes(8).toString('hex')}`;
    const response = await get('/api/v1/sites', {
      'x-edge-secret': EDGE_SECRET,
      'x-request-id': requestId,
      authorization: `Bearer ${ADMIN_TOKEN}`,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe(requestId);
    await response.text();
    // The access line is written when the response is; give stdout a moment to arrive.
    const deadline = Date.now() + 10_000;
    let line: string | undefined;
    while (line === undefined && Date.now() < deadline) {
      line = origin.logs.find((l) => l.includes(requestId));
      if (line === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(line).toBeDefined();
    expect(JSON.parse(line!)).toMatchObject({
      msg: 'request',
      requestId,
      method: 'GET',
      route: '/api/v1/sites',
      status: 200,
    });
    const all = origin.logs.join('\n');
    expect(all).not.toContain(ADMIN_TOKEN);
    expect(all).not.toContain(EDGE_SECRET);
  });
});
