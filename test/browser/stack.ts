import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect, createServer as createNetServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { type Browser, chromium, type Locator, type Page } from 'playwright-core';
import { ADMIN_TOKEN, createTestDatabase, type TestDatabase } from '../../origin/test/harness.js';
import { type LlmStub, startLlmStub } from '../../origin/test/llm-stub.js';
import { type EdgeProcess, freePort, newEdgeSecret, startEdge } from '../edge-process.js';
import { type OriginProcess, startOrigin } from '../origin-process.js';

export const ROOT = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
export const SCREENSHOTS = join(ROOT, 'test-output/screenshots');

/** Chromium from Debian's package, headless, with nothing that would reach the network. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    timeout: 60_000,
  });
}

/** Builds the widget and the chat site once per test file, as CI would before the browser tier. */
export function buildWeb(): void {
  execFileSync(process.execPath, [join(ROOT, 'web/build.mjs'), '--no-results'], {
    cwd: ROOT,
    stdio: 'pipe',
  });
}

/** A web server on another loopback port: the third-party site that embeds the widget. */
export interface HostPages {
  url: string;
  /** Serves `html` at `path`, with `csp` as its Content-Security-Policy header if given. */
  set(path: string, html: string, csp?: string): void;
  close(): Promise<void>;
}

export async function startHostPages(): Promise<HostPages> {
  const pages = new Map<string, { html: string; csp: string | undefined }>();
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const page = pages.get(path);
    if (path === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    if (page === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const headers: Record<string, string> = { 'content-type': 'text/html; charset=utf-8' };
    if (page.csp !== undefined) headers['content-security-policy'] = page.csp;
    res.writeHead(200, headers).end(page.html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    set: (path, html, csp) => pages.set(path, { html, csp }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface SeedDocument {
  title: string;
  content: string;
  url?: string;
  format?: 'text' | 'markdown' | 'html';
}

/** The real stack: the LLM stub, PostgreSQL, the origin process, the Worker in workerd. */
export interface Stack {
  stub: LlmStub;
  origin: OriginProcess;
  edge: EdgeProcess;
  host: HostPages;
  site: { name: string; key: string };
  /** The widget's public URL (through the edge). */
  widgetUrl: string;
  /** Calls the origin's admin API (e.g. to change a site's settings). */
  admin(method: string, path: string, body: unknown): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

export async function startStack(options: {
  model: string;
  documents: SeedDocument[];
  site?: string;
  /** More origin environment, e.g. a tight rate limit. */
  originEnv?: Record<string, string>;
}): Promise<Stack> {
  const stops: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    for (const step of stops.reverse()) await step().catch(() => {});
  };
  try {
    const stub = await startLlmStub();
    stops.push(() => stub.close());
    const database: TestDatabase = await createTestDatabase('postgres');
    stops.push(() => database.drop());
    const secret = newEdgeSecret();
    // The edge first, on the port the origin will take: the origin must know the chat site's
    // origin (the edge's URL) at boot, in PUBLIC_ORIGINS, as in production.
    const originPort = await freePort();
    const edge = await startEdge({
      originUrls: [`http://127.0.0.1:${originPort}`],
      assetsDir: join(ROOT, 'dist/site'),
      secret,
    });
    stops.push(() => edge.stop());
    const origin = await startOrigin({
      ...database.env,
      NODE_ENV: 'test',
      PORT: String(originPort),
      ADMIN_TOKEN,
      EMBEDDER: 'hash',
      RERANKER: 'lexical',
      LLM_BASE_URL: stub.url,
      LLM_MODEL: options.model,
      EDGE_SHARED_SECRET: secret,
      PUBLIC_ORIGINS: edge.url,
      RATE_LIMIT_CHAT_PER_MINUTE: '1000',
      WIDGET_FILE: join(ROOT, 'dist/widget/widget.js'),
      ...options.originEnv,
    });
    stops.push(() => origin.stop());
    const host = await startHostPages();
    stops.push(() => host.close());

    const admin = async (method: string, path: string, body: unknown) => {
      const response = await fetch(`${origin.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${ADMIN_TOKEN}`,
          'content-type': 'application/json',
          'x-edge-secret': secret,
        },
        body: JSON.stringify(body),
      });
      if (!response.ok) throw new Error(`${method} ${path}: ${await response.text()}`);
      return (await response.json()) as Record<string, unknown>;
    };
    const name = options.site ?? 'docs';
    // Only the third-party test page is allowed per site; the chat site is the product's own.
    const created = await admin('POST', '/api/v1/sites', {
      name,
      title: 'The docs',
      allowedOrigins: [host.url],
    });
    await admin('POST', `/api/v1/sites/${name}/documents`, { documents: options.documents });
    mkdirSync(SCREENSHOTS, { recursive: true });
    return {
      stub,
      origin,
      edge,
      host,
      site: { name, key: String((created.site as { publicKey: string }).publicKey) },
      widgetUrl: `${edge.url}/widget.js`,
      admin,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The embed tag a site owner pastes, with optional extra `data-*` attributes. */
export function embedTag(stack: Stack, extra: Record<string, string> = {}): string {
  const attributes = Object.entries({ site: stack.site.name, key: stack.site.key, ...extra })
    .map(([name, value]) => ` data-${name}="${value}"`)
    .join('');
  return `<script src="${stack.widgetUrl}"${attributes} async></script>`;
}

/** A host page: some content of its own, then the embed tag. */
export function hostPage(embed: string, head = ''): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>A blog</title>${head}</head>
<body><main><h1>A third-party blog</h1><p>Some article text the host page owns.</p><div id="chat-here"></div></main>
${embed}</body></html>`;
}

/**
 * Records what must never happen on a page: dialogs (an injected `alert`), CSP violations,
 * console errors and uncaught exceptions. The test asserts the list is empty.
 */
export function watchPage(page: Page): string[] {
  const problems: string[] = [];
  page.on('dialog', (dialog) => {
    problems.push(`dialog: ${dialog.message()}`);
    void dialog.dismiss();
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  return problems;
}

/** Listens, from before any script runs, for CSP violations the page reports. */
export async function recordCspViolations(page: Page): Promise<void> {
  await page.addInitScript(
    `window.__cspViolations = [];
     document.addEventListener('securitypolicyviolation', (e) =>
       window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));`,
  );
}

export async function cspViolations(page: Page): Promise<string[]> {
  return (await page.evaluate('window.__cspViolations')) as string[];
}

/** A computed style property of the element `locator` finds (camelCase name). */
export function computedStyle(locator: Locator, property: string): Promise<string> {
  return locator.evaluate(
    (element, name) =>
      (
        globalThis as unknown as {
          getComputedStyle(e: unknown): Record<string, string>;
        }
      ).getComputedStyle(element)[name]!,
    property,
  );
}

/** A TCP proxy on loopback in front of `target` that can cut every open connection at once. */
export async function startCuttableProxy(
  target: string,
): Promise<{ url: string; cut(): number; close(): Promise<void> }> {
  const { port: targetPort, hostname } = new URL(target);
  const sockets = new Set<Socket>();
  const server = createNetServer((client) => {
    const upstream = connect(Number(targetPort), hostname);
    client.pipe(upstream).pipe(client);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    cut() {
      const count = sockets.size;
      for (const socket of sockets) socket.destroy();
      return count;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
