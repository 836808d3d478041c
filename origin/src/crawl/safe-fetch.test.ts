import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FetchRefused, isPrivateAddress, SafeFetcher } from './safe-fetch.js';

const policy = { maxBytes: 10_000, timeoutMs: 5_000, maxRedirects: 2, userAgent: 'TestBot/1' };

describe('SafeFetcher', () => {
  let server: Server;
  let origin: string;
  const seen: Array<{ path: string; headers: Record<string, unknown> }> = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({ path: req.url ?? '', headers: req.headers });
      const path = req.url ?? '/';
      if (path === '/big') return res.end('x'.repeat(20_000));
      if (path.startsWith('/hop/')) {
        const n = Number(path.slice(5));
        return res.writeHead(302, { location: `/hop/${n + 1}` }).end();
      }
      if (path === '/to-private')
        return res.writeHead(301, { location: 'http://169.254.169.254/latest' }).end();
      if (path === '/to-localhost') {
        const port = (server.address() as AddressInfo).port;
        return res.writeHead(302, { location: `http://localhost:${port}/cookie` }).end();
      }
      if (path === '/cookie') {
        return res
          .writeHead(200, { 'set-cookie': 'session=abc', 'content-type': 'text/plain' })
          .end('ok');
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end('hello');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('classifies addresses: only public unicast is fetchable', () => {
    for (const address of [
      '127.0.0.1',
      '10.1.2.3',
      '192.168.0.1',
      '172.16.5.5',
      '169.254.169.254',
      '::1',
      'fe80::1',
      'fd00::1',
      '::ffff:127.0.0.1',
      '0.0.0.0',
      '100.64.0.1',
    ]) {
      expect(isPrivateAddress(address), address).toBe(true);
    }
    expect(isPrivateAddress('93.184.216.34')).toBe(false);
    expect(isPrivateAddress('2606:4700::1111')).toBe(false);
  });

  it('refuses loopback by literal address and by name when no host is allowed', async () => {
    const fetcher = new SafeFetcher({ ...policy, allowHosts: [] });
    try {
      await expect(fetcher.get(`${origin}/`)).rejects.toThrow(FetchRefused);
      const byName = origin.replace('127.0.0.1', 'localhost');
      await expect(fetcher.get(`${byName}/`)).rejects.toThrow(/private address/);
      expect(seen).toHaveLength(0);
    } finally {
      await fetcher.close();
    }
  });

  it('fetches an allowed host, re-checks every redirect hop, and bounds redirects and size', async () => {
    const fetcher = new SafeFetcher({ ...policy, allowHosts: ['127.0.0.1'] });
    try {
      const ok = await fetcher.get(`${origin}/`);
      expect(ok).toMatchObject({ status: 200, url: `${origin}/` });
      expect(new TextDecoder().decode(ok.body)).toBe('hello');
      expect(seen.at(-1)!.headers['user-agent']).toBe('TestBot/1');
      await expect(fetcher.get(`${origin}/to-private`)).rejects.toThrow(
        /169\.254\.169\.254.*private/,
      );
      // localhost is not on the allow list even though 127.0.0.1 is: refused after DNS.
      await expect(fetcher.get(`${origin}/to-localhost`)).rejects.toThrow(/private address/);
      const twoHops = await fetcher.get(`${origin}/hop/0`).catch((e: Error) => e);
      expect(twoHops).toBeInstanceOf(FetchRefused);
      expect((twoHops as Error).message).toMatch(/more than 2 redirects/);
      await expect(fetcher.get(`${origin}/big`)).rejects.toThrow(/larger than 10000 bytes/);
      await expect(fetcher.get('file:///etc/passwd')).rejects.toThrow(/only http and https/);
    } finally {
      await fetcher.close();
    }
  });

  it('keeps no cookies and sends the private header to the first origin only', async () => {
    const fetcher = new SafeFetcher({ ...policy, allowHosts: ['127.0.0.1', 'localhost'] });
    try {
      seen.length = 0;
      await fetcher.get(`${origin}/cookie`, { headers: { 'x-docs-token': 't0ken' } });
      await fetcher.get(`${origin}/to-localhost`, { headers: { 'x-docs-token': 't0ken' } });
      expect(seen.map((s) => s.headers.cookie)).toEqual([undefined, undefined, undefined]);
      expect(seen.map((s) => s.headers['x-docs-token'])).toEqual(['t0ken', 't0ken', undefined]);
    } finally {
      await fetcher.close();
    }
  });
});
