import { createServer, type Server, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  type Harness,
  startHarness,
  TEST_DB,
  type TestDatabase,
} from './harness.js';

/** A TCP proxy on loopback that can cut every connection, to take the database away for real. */
async function startProxy(
  target: URL,
): Promise<{ url: string; cut(): void; restore(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let open = true;
  const server: Server = createServer((client) => {
    if (!open) {
      client.destroy();
      return;
    }
    const upstream = new Socket();
    upstream.connect(Number(target.port), target.hostname);
    client.pipe(upstream).pipe(client);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  const url = new URL(target.toString());
  url.hostname = '127.0.0.1';
  url.port = String(address.port);
  return {
    url: url.toString(),
    cut() {
      open = false;
      for (const s of sockets) s.destroy();
    },
    restore() {
      open = true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe.runIf(TEST_DB === 'postgres')('health when the database goes away (postgres)', () => {
  let database: TestDatabase;
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  let h: Harness;
  beforeAll(async () => {
    database = await createTestDatabase();
    proxy = await startProxy(new URL(database.url!));
    h = await startHarness({ database, env: { DATABASE_URL: proxy.url } });
  });
  afterAll(async () => {
    await h?.close();
    await proxy?.close();
    await database?.drop();
  });

  it('answers 503 while the database is unreachable, and 200 again when it is back, without a restart', async () => {
    expect((await h.request('GET', '/api/v1/health')).status).toBe(200);
    proxy.cut();
    const down = await h.request('GET', '/api/v1/health');
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({
      status: 'unavailable',
      database: { status: 'down' },
    });
    const sites = await h.request('GET', '/api/v1/sites');
    expect(sites.status).toBe(503);
    expect((await sites.json()).error.code).toBe('database_unavailable');
    proxy.restore();
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i += 1) {
      status = (await h.request('GET', '/api/v1/health')).status;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(status).toBe(200);
  });
});
