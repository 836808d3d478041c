import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_CSP } from '../../origin/src/routes/admin/console.js';
import { ADMIN_TOKEN, createTestDatabase, type TestDatabase } from '../../origin/test/harness.js';
import { type LlmStub, startLlmStub } from '../../origin/test/llm-stub.js';
import { readSse } from '../../origin/test/sse.js';
import { type OriginProcess, startOrigin } from '../origin-process.js';
import {
  freePort,
  type HttpsAnswer,
  httpsRequest,
  makeCertificate,
  type NginxInstance,
  nginxTest,
  ROOT,
  runCommand,
  startNginx,
  tempDir,
} from './helpers.js';

const HOST = 'example.test';
const TOKEN_DELAY_MS = 150;
const SECURITY_HEADERS = [
  'strict-transport-security',
  'x-content-type-options',
  'x-frame-options',
  'referrer-policy',
  'content-security-policy',
];

function expectSecurityHeaders(answer: { headers: HttpsAnswer['headers'] }, where: string) {
  for (const name of SECURITY_HEADERS) {
    expect(answer.headers[name], `${name} on ${where}`).toBeDefined();
    // Sent once: the origin's own copy is hidden, so a browser never sees two values.
    expect(Array.isArray(answer.headers[name]), `${name} twice on ${where}`).toBe(false);
  }
}

async function render(dir: string, env: Record<string, string>): Promise<string> {
  const out = join(dir, 'rendered');
  const result = await runCommand('bash', ['nginx/render.sh', '--out', out], { env });
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return join(out, 'ragedge.conf');
}

describe('nginx in front of the real origin', () => {
  let dir: string;
  let database: TestDatabase;
  let stub: LlmStub;
  let origin: OriginProcess;
  let nginx: NginxInstance;
  let flag: string;
  let rendered: string;
  let cert: { cert: string; key: string };

  const get = (path: string, options: Parameters<typeof httpsRequest>[3] = {}) =>
    httpsRequest(nginx.httpsPort, HOST, path, options);

  beforeAll(async () => {
    dir = tempDir('nginx');
    database = await createTestDatabase('postgres');
    stub = await startLlmStub();
    origin = await startOrigin({
      ...database.env,
      NODE_ENV: 'production',
      // nginx on loopback is the proxy whose X-Forwarded-For names the reader.
      TRUSTED_PROXIES: '127.0.0.1',
      ADMIN_TOKEN,
      EMBEDDER: 'hash',
      RERANKER: 'lexical',
      LLM_BASE_URL: stub.url,
      LLM_API_KEY: 'sk-test-not-a-secret',
      LLM_MODEL: `slow-${TOKEN_DELAY_MS}`,
      LLM_TIMEOUT_MS: '20000',
    });
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
    const site = await fetch(`${origin.url}/api/v1/sites`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ name: 'docs' }),
    });
    expect(site.status).toBe(201);
    const docs = await fetch(`${origin.url}/api/v1/sites/docs/documents`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({
        documents: [
          {
            title: 'Backups',
            content: '# Backups\n\nThe nightly backup job runs pg_dump and keeps seven dumps.',
          },
        ],
      }),
    });
    expect(docs.status).toBe(201);

    cert = makeCertificate(dir, HOST);
    flag = join(dir, 'maintenance.on');
    const httpPort = await freePort();
    const httpsPort = await freePort();
    rendered = await render(dir, {
      SERVER_NAME: HOST,
      TLS_CERT: cert.cert,
      TLS_KEY: cert.key,
      UPSTREAM: new URL(origin.url).host,
      MAINTENANCE_FLAG: flag,
      HTTP_LISTEN: `127.0.0.1:${httpPort}`,
      HTTPS_LISTEN: `127.0.0.1:${httpsPort}`,
      // The test client on 127.0.0.1 plays Cloudflare; one on 127.0.0.2 is anyone else.
      REAL_IP_FROM: '127.0.0.1',
    });
    nginx = await startNginx(dir, rendered, { httpPort, httpsPort });
  });

  afterAll(async () => {
    await nginx?.stop();
    await origin?.stop();
    await stub?.close();
    await database?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('passes nginx -t', async () => {
    const result = await runCommand('/usr/sbin/nginx', [
      '-t',
      '-p',
      dir,
      '-c',
      join(dir, 'nginx.conf'),
      '-g',
      `pid ${join(dir, 'test.pid')}; error_log ${join(dir, 'test-error.log')};`,
    ]);
    expect(result.stderr).toMatch(/syntax is ok/);
    expect(result.stderr).toMatch(/test is successful/);
    expect(result.code).toBe(0);
  });

  it('answers over HTTPS with the origin health and every security header', async () => {
    const answer = await get('/api/v1/health', {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(await answer.text())).toMatchObject({
      status: 'ok',
      database: { status: 'up' },
    });
    expectSecurityHeaders(answer, 'health');
    expect(answer.headers.server).toBe('nginx');
  });

  it('gives the admin console its own policy, once, the same as the origin sends', async () => {
    const answer = await get('/admin/');
    expectSecurityHeaders(answer, 'the console');
    expect(answer.headers['content-security-policy']).toBe(CONSOLE_CSP);
  });

  it("passes the edge's request id on to the origin, and makes one when there is none", async () => {
    const traced = await get('/api/v1/health', { headers: { 'x-request-id': 'edge-7f3a9c2e1b' } });
    await traced.text();
    expect(traced.headers['x-request-id']).toBe('edge-7f3a9c2e1b');
    const fresh = await get('/api/v1/health');
    await fresh.text();
    expect(fresh.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
  });

  it('redirects HTTP to HTTPS and www to the apex, in one hop, with the headers', async () => {
    for (const host of [HOST, `www.${HOST}`]) {
      const response = await fetch(`http://127.0.0.1:${nginx.httpPort}/api/v1/sites?x=1`, {
        headers: { host },
        redirect: 'manual',
      });
      expect(response.status).toBe(301);
      expect(response.headers.get('location')).toBe(`https://${HOST}/api/v1/sites?x=1`);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    }
    const www = await httpsRequest(nginx.httpsPort, `www.${HOST}`, '/widget.js?v=2');
    expect(www.status).toBe(301);
    expect(www.headers.location).toBe(`https://${HOST}/widget.js?v=2`);
    expectSecurityHeaders(www, 'www redirect');
  });

  it('refuses a TLS handshake for a host name that is not ours', async () => {
    await expect(httpsRequest(nginx.httpsPort, 'other.example', '/')).rejects.toThrow();
  });

  it('streams SSE events spaced as the origin sends them, not gzipped', async () => {
    const started = performance.now();
    const answer = await get('/api/v1/sites/docs/chat', {
      method: 'POST',
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        'content-type': 'application/json',
        'accept-encoding': 'gzip, br',
      },
      body: JSON.stringify({ message: 'What does the nightly backup job run?' }),
    });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(answer.headers['content-encoding']).toBeUndefined();
    expectSecurityHeaders(answer, 'chat stream');
    const items = await readSse(answer.web(), { timeoutMs: 30_000 });
    expect(items.at(-1)!.event).toBe('done');
    const tokens = items.filter((item) => item.event === 'token').map((item) => item.at - started);
    expect(tokens.length).toBeGreaterThanOrEqual(6);
    // Buffered, every token would arrive in one burst at the end. Unbuffered, they spread over
    // (n - 1) × delay; half of that leaves room for a loaded machine.
    const spread = tokens.at(-1)! - tokens[0]!;
    expect(spread).toBeGreaterThan((tokens.length - 1) * TOKEN_DELAY_MS * 0.5);
    const gaps = tokens.slice(1).map((at, i) => at - tokens[i]!);
    const spaced = gaps.filter((gap) => gap > TOKEN_DELAY_MS * 0.4).length;
    expect(spaced).toBeGreaterThanOrEqual(Math.floor(gaps.length / 2));
  });

  it('does not buffer or gzip SSE by itself (an upstream without X-Accel-Buffering), gzips its HTML', async () => {
    // The origin also sends `X-Accel-Buffering: no`, which would hide a buffering config; this
    // upstream does not, so only the SSE block's proxy_buffering off keeps the events apart.
    const sse = createServer((req, res) => {
      if (req.url === '/page') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(
          `<!DOCTYPE html><p>${'An HTML page long enough to be worth compressing. '.repeat(40)}</p>`,
        );
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      let n = 0;
      const timer = setInterval(() => {
        n += 1;
        res.write(`event: token\ndata: ${JSON.stringify({ n })}\n\n`);
        if (n === 8) {
          clearInterval(timer);
          res.end();
        }
      }, TOKEN_DELAY_MS);
      res.on('close', () => clearInterval(timer));
    });
    await new Promise<void>((resolve) => sse.listen(0, '127.0.0.1', resolve));
    const plainDir = tempDir('nginx-plain');
    try {
      const httpPort = await freePort();
      const httpsPort = await freePort();
      const conf = await render(plainDir, {
        SERVER_NAME: HOST,
        TLS_CERT: cert.cert,
        TLS_KEY: cert.key,
        UPSTREAM: `127.0.0.1:${(sse.address() as AddressInfo).port}`,
        MAINTENANCE_FLAG: flag,
        HTTP_LISTEN: `127.0.0.1:${httpPort}`,
        HTTPS_LISTEN: `127.0.0.1:${httpsPort}`,
      });
      const plain = await startNginx(plainDir, conf, { httpPort, httpsPort });
      try {
        const answer = await httpsRequest(httpsPort, HOST, '/api/v1/stream', {
          headers: { 'accept-encoding': 'gzip' },
        });
        expect(answer.headers['content-encoding']).toBeUndefined();
        // A stand-in upstream with events of its own.
        const items = await readSse(answer.web(), { timeoutMs: 20_000, contract: false });
        const times = items.filter((item) => item.event === 'token').map((item) => item.at);
        expect(times).toHaveLength(8);
        expect(times.at(-1)! - times[0]!).toBeGreaterThan(7 * TOKEN_DELAY_MS * 0.5);
        // The same server's HTML is compressed: gzip is on, only the event stream is spared.
        const page = await httpsRequest(httpsPort, HOST, '/page', {
          headers: { 'accept-encoding': 'gzip' },
        });
        await page.text();
        expect(page.headers['content-type']).toMatch(/^text\/html/);
        expect(page.headers['content-encoding']).toBe('gzip');
      } finally {
        await plain.stop();
      }
    } finally {
      sse.close();
      rmSync(plainDir, { recursive: true, force: true });
    }
  });

  it('gzips JSON for a client that accepts it, and not for one that does not', async () => {
    // nginx compresses text/html whenever gzip is on; the origin serves no HTML, so the check is
    // on its JSON (gzip_types), long enough to pass gzip_min_length.
    const headers = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const zipped = await get('/api/v1/sites/docs/documents', {
      headers: { ...headers, 'accept-encoding': 'gzip' },
    });
    await zipped.text();
    expect(zipped.status).toBe(200);
    expect(zipped.headers['content-encoding']).toBe('gzip');
    const plain = await get('/api/v1/sites/docs/documents', { headers });
    expect(JSON.parse(await plain.text())).toBeDefined();
    expect(plain.headers['content-encoding']).toBeUndefined();
  });

  it('answers 413 in the error shape to a 60 MB upload, and lets 40 MB through', async () => {
    const big = await get('/api/v1/sites/docs/documents', {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'text/plain' },
      body: Buffer.alloc(60 * 1024 * 1024, 97),
    });
    expect(big.status).toBe(413);
    expect(JSON.parse(await big.text())).toMatchObject({
      error: { code: 'payload_too_large', requestId: expect.any(String) },
    });
    expectSecurityHeaders(big, '413');

    const fits = await get('/api/v1/sites/docs/documents', {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'text/plain' },
      body: Buffer.alloc(40 * 1024 * 1024, 97),
      timeoutMs: 60_000,
    });
    await fits.text();
    // The origin judges it (whatever it says), nginx did not stop it.
    expect(fits.status).not.toBe(413);
    expect(fits.headers['x-request-id'] ?? fits.headers['content-type']).toBeDefined();
  });

  it('refuses a reader body over 64 kB with 413 before the origin reads it, in the error shape', async () => {
    const big = await get('/api/v1/sites/docs/chat', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'cf-connecting-ip': '203.0.113.200' },
      body: JSON.stringify({ message: 'x'.repeat(100_000) }),
    });
    expect(big.status).toBe(413);
    expect(JSON.parse(await big.text())).toMatchObject({ error: { code: 'payload_too_large' } });
    // Percent-encoded, the path is still the chat route to nginx, as it is to the origin.
    const encoded = await get('/api/v1/sites/docs/%63hat', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'cf-connecting-ip': '203.0.113.201' },
      body: JSON.stringify({ message: 'x'.repeat(100_000) }),
    });
    expect(encoded.status).toBe(413);
    await encoded.text();
  });

  /** Statuses of `n` reader requests sent at once; nginx's own 429s are told apart by message. */
  async function readerBurst(n: number, ip: (i: number) => string, localAddress?: string) {
    const answers = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        httpsRequest(nginx.httpsPort, HOST, '/api/v1/sites/docs/search', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'cf-connecting-ip': ip(i) },
          body: '{}',
          ...(localAddress === undefined ? {} : { localAddress }),
        }),
      ),
    );
    const bodies = await Promise.all(answers.map((answer) => answer.text()));
    return answers.filter((a, i) => a.status === 429 && bodies[i]!.includes('wait a few seconds'))
      .length;
  }

  it('limits each reader by the CF-Connecting-IP a trusted peer names, and one reader leaves another alone', async () => {
    // 2 a second with a burst of 20: 60 at once from one reader get refused past the burst.
    expect(await readerBurst(60, () => '198.51.100.77')).toBeGreaterThanOrEqual(30);
    expect(await readerBurst(5, () => '198.51.100.78')).toBe(0);
  });

  it('ignores CF-Connecting-IP from a peer that is not Cloudflare: rotating it buys no budget', async () => {
    const refused = await readerBurst(60, (i) => `192.0.2.${i + 1}`, '127.0.0.2');
    expect(refused).toBeGreaterThanOrEqual(30);
  });

  it('maintenance flag: every path but health is 503 (HTML, JSON for /api/), off again without reload', async () => {
    const pid = readFileSync(join(dir, 'nginx.pid'), 'utf8').trim();
    writeFileSync(flag, '');
    try {
      for (const path of ['/', '/widget.js', '/some/page']) {
        const page = await get(path, { headers: { accept: 'text/html' } });
        const body = await page.text();
        expect(page.status, path).toBe(503);
        expect(page.headers['content-type']).toMatch(/^text\/html/);
        expect(body).toContain('Back in a minute');
        expect(page.headers['retry-after']).toBe('60');
        expectSecurityHeaders(page, `maintenance ${path}`);
      }
      for (const [method, path] of [
        ['GET', '/api/v1/sites'],
        ['POST', '/api/v1/sites/docs/chat'],
        ['DELETE', '/api/v1/sites/docs'],
      ] as const) {
        const api = await get(path, {
          method,
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
          body: method === 'POST' ? '{"message":"hi"}' : '',
        });
        expect(api.status, `${method} ${path}`).toBe(503);
        expect(api.headers['content-type']).toMatch(/^application\/json/);
        expect(JSON.parse(await api.text())).toMatchObject({
          error: {
            code: 'maintenance',
            message: expect.any(String),
            requestId: expect.any(String),
          },
        });
        expectSecurityHeaders(api, `maintenance ${path}`);
      }
      const health = await get('/api/v1/health');
      expect(health.status).toBe(200);
      expect(JSON.parse(await health.text())).toMatchObject({ status: 'ok' });
      // The site was not deleted: nothing reached the origin.
      const direct = await fetch(`${origin.url}/api/v1/sites/docs`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(direct.status).toBe(200);
    } finally {
      unlinkSync(flag);
    }
    const back = await get('/api/v1/sites', {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    await back.text();
    expect(back.status).toBe(200);
    // Same master process, no reload signal sent: the flag is read per request.
    expect(readFileSync(join(dir, 'nginx.pid'), 'utf8').trim()).toBe(pid);
  });

  it('sends the headers on an origin 4xx and on a path nginx itself refuses', async () => {
    const missing = await get('/api/v1/sites/nope', {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(missing.status).toBe(404);
    expect(JSON.parse(await missing.text())).toMatchObject({ error: { code: expect.any(String) } });
    expectSecurityHeaders(missing, 'origin 404');
    const metrics = await get('/metrics');
    await metrics.text();
    expect(metrics.status).toBe(404);
    expectSecurityHeaders(metrics, '/metrics');
  });

  it('AOP: with a client CA, only a client certificate it signed gets through', async () => {
    const aopDir = tempDir('nginx-aop');
    try {
      const ca = join(aopDir, 'ca');
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-days',
          '2',
          '-keyout',
          `${ca}.key`,
          '-out',
          `${ca}.pem`,
          '-subj',
          '/CN=test origin pull CA',
        ],
        { stdio: 'ignore' },
      );
      const client = join(aopDir, 'client');
      execFileSync(
        'openssl',
        [
          'req',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-keyout',
          `${client}.key`,
          '-out',
          `${client}.csr`,
          '-subj',
          '/CN=cloudflare',
        ],
        { stdio: 'ignore' },
      );
      execFileSync(
        'openssl',
        [
          'x509',
          '-req',
          '-in',
          `${client}.csr`,
          '-CA',
          `${ca}.pem`,
          '-CAkey',
          `${ca}.key`,
          '-CAcreateserial',
          '-days',
          '2',
          '-out',
          `${client}.pem`,
        ],
        { stdio: 'ignore' },
      );
      const httpPort = await freePort();
      const httpsPort = await freePort();
      const conf = await render(aopDir, {
        SERVER_NAME: HOST,
        TLS_CERT: cert.cert,
        TLS_KEY: cert.key,
        UPSTREAM: new URL(origin.url).host,
        MAINTENANCE_FLAG: flag,
        AOP_CLIENT_CA: `${ca}.pem`,
        HTTP_LISTEN: `127.0.0.1:${httpPort}`,
        HTTPS_LISTEN: `127.0.0.1:${httpsPort}`,
      });
      expect((await nginxTest(aopDir, conf)).code).toBe(0);
      const aop = await startNginx(aopDir, conf, { httpPort, httpsPort });
      try {
        const anonymous = await httpsRequest(httpsPort, HOST, '/api/v1/health');
        await anonymous.text();
        expect(anonymous.status).toBe(400);
        const pulled = await httpsRequest(httpsPort, HOST, '/api/v1/health', {
          cert: readFileSync(`${client}.pem`),
          key: readFileSync(`${client}.key`),
        });
        await pulled.text();
        expect(pulled.status).toBe(200);
      } finally {
        await aop.stop();
      }
    } finally {
      rmSync(aopDir, { recursive: true, force: true });
    }
  });

  it('answers a JSON 503 with the headers when the origin is down', async () => {
    await origin.stop();
    const answer = await get('/api/v1/sites');
    expect(answer.status).toBe(503);
    expect(JSON.parse(await answer.text())).toMatchObject({
      error: { code: 'origin_unavailable' },
    });
    expectSecurityHeaders(answer, 'origin down');
  });
});

describe('nginx/render.sh', () => {
  it('refuses a value that would inject nginx directives', async () => {
    const dir = tempDir('render');
    try {
      const cases: Array<Record<string, string>> = [
        { SERVER_NAME: 'example.com; return 200' },
        { SERVER_NAME: 'example.com', UPSTREAM: '127.0.0.1:8000; evil' },
        { SERVER_NAME: 'example.com', TLS_CERT: '/etc/x.pem;' },
      ];
      for (const env of cases) {
        const result = await runCommand('bash', ['nginx/render.sh', '--out', dir], { env });
        expect(result.code, JSON.stringify(env)).toBe(2);
        expect(result.stderr).toMatch(/render\.sh: /);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('renders the production defaults, reads only its keys from an env file', async () => {
    const dir = tempDir('render-env');
    try {
      const envFile = join(dir, '.env');
      writeFileSync(
        envFile,
        'SERVER_NAME=rag.example.org\nADMIN_TOKEN=never-copied-0123456789abcd\n',
      );
      const result = await runCommand('bash', [
        join(ROOT, 'nginx/render.sh'),
        '--out',
        join(dir, 'out'),
        '--env',
        envFile,
      ]);
      expect(result.code).toBe(0);
      const conf = readFileSync(join(dir, 'out', 'ragedge.conf'), 'utf8');
      expect(conf).toContain('server_name rag.example.org www.rag.example.org;');
      expect(conf).toContain('listen 443 ssl http2;');
      expect(conf).toContain(`include ${join(dir, 'out')}/upstream.conf;`);
      const upstream = join(dir, 'out', 'upstream.conf');
      expect(readFileSync(upstream, 'utf8')).toContain('server 127.0.0.1:8001;');
      expect(conf).not.toContain('never-copied');
      // After the first render the upstream belongs to deploy.sh: rendering again keeps it.
      const switched = await runCommand('bash', [
        join(ROOT, 'nginx/render.sh'),
        '--out',
        join(dir, 'out'),
        '--set-upstream',
        '127.0.0.1:8002',
      ]);
      expect(switched.code).toBe(0);
      const again = await runCommand('bash', [
        join(ROOT, 'nginx/render.sh'),
        '--out',
        join(dir, 'out'),
        '--env',
        envFile,
      ]);
      expect(again.code).toBe(0);
      expect(readFileSync(upstream, 'utf8')).toContain('server 127.0.0.1:8002;');
      expect(
        (
          await runCommand('bash', [
            join(ROOT, 'nginx/render.sh'),
            '--out',
            dir,
            '--set-upstream',
            'x; evil',
          ])
        ).code,
      ).toBe(2);
      expect(conf).not.toMatch(/\$\{[A-Z_]+\}/);
      const tls = readFileSync(join(dir, 'out', 'snippets', 'tls.conf'), 'utf8');
      expect(tls).toContain('ssl_certificate /etc/ssl/certs/origin.pem;');
      expect(tls).not.toContain('ssl_verify_client on');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
