import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { marked } from 'marked';

/** The Hono documentation the tests render into a website. */
export const HONO_DOCS = join(import.meta.dirname, '../../shared/data/qa/hono/docs');

/** One file the test site serves. */
export interface SitePage {
  body: string | Uint8Array;
  type: string;
  /** When set, answered with this redirect instead. */
  redirect?: string;
  /** When set, answered with this status and no body instead (e.g. 500). */
  status?: number;
}

function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) =>
      entry.isDirectory()
        ? markdownFiles(join(dir, entry.name))
        : entry.name.endsWith('.md')
          ? [join(dir, entry.name)]
          : [],
    )
    .sort();
}

/** `/docs/helpers/cookie` for `helpers/cookie.md`. */
export function pagePath(file: string, root = HONO_DOCS): string {
  return `/docs/${relative(root, file).replace(/\.md$/, '').replace(/\\/g, '/')}`;
}

/** An HTML page around rendered Markdown: a title, navigation links and the content in `<main>`. */
export function htmlPage(title: string, bodyHtml: string, navPaths: readonly string[]): string {
  const nav = navPaths
    .map(
      (path, i) =>
        `<li><a href="${path}${i % 3 === 0 ? '#top' : ''}${i % 5 === 0 ? '?utm_source=nav' : ''}">${path}</a></li>`,
    )
    .join('');
  return `<!doctype html><html><head><title>${title}</title></head><body><header><a href="/">Home</a></header><nav><ul>${nav}</ul></nav><main>${bodyHtml}</main><footer>Rendered for tests</footer></body></html>`;
}

/**
 * The Hono docs rendered to HTML pages (with `marked`), each linking to its neighbours so that a
 * crawl reaches every page, plus `/sitemap.xml` and `/robots.txt`. `copies` repeats the docs
 * under `/docs/copy-N/` to make a larger site for the benchmark.
 */
export function renderHonoSite(options: { copies?: number } = {}): Map<string, SitePage> {
  const files = markdownFiles(HONO_DOCS);
  const pages = new Map<string, SitePage>();
  const copies = options.copies ?? 1;
  const entries: Array<{ path: string; markdown: string }> = [];
  for (let copy = 0; copy < copies; copy++) {
    for (const file of files) {
      const path = pagePath(file).replace(/^\/docs/, copy === 0 ? '/docs' : `/docs/copy-${copy}`);
      entries.push({ path, markdown: readFileSync(file, 'utf8') });
    }
  }
  entries.forEach(({ path, markdown }, i) => {
    const title = /^#\s+(.+)$/m.exec(markdown)?.[1]?.trim() ?? path;
    const neighbours = [entries[i - 1], entries[i + 1], entries[(i * 7) % entries.length]]
      .filter((e) => e !== undefined)
      .map((e) => e!.path);
    pages.set(path, {
      body: htmlPage(title, marked.parse(markdown, { async: false }), neighbours),
      type: 'text/html; charset=utf-8',
    });
  });
  setSitemap(pages);
  pages.set('/robots.txt', { body: 'User-agent: *\nAllow: /\n', type: 'text/plain' });
  return pages;
}

/** Rewrites `/sitemap.xml` to list every HTML page the site serves. */
export function setSitemap(pages: Map<string, SitePage>, base = 'http://placeholder'): void {
  const urls = [...pages.entries()]
    .filter(([, page]) => page.type.startsWith('text/html') && page.redirect === undefined)
    .map(([path]) => `<url><loc>${base}${path}</loc></url>`)
    .join('');
  pages.set('/sitemap.xml', {
    body: `<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">${urls}</urlset>`,
    type: 'application/xml',
  });
}

/** A loopback HTTP server over a page map that tests mutate between syncs. */
export interface TestWebServer {
  origin: string;
  pages: Map<string, SitePage>;
  /** Requests per path, and how many were answered 304. */
  hits: Map<string, number>;
  notModified: number;
  /** Milliseconds each response waits (to make a sync slow enough to interrupt). */
  delayMs: number;
  reset(): void;
  close(): Promise<void>;
}

/**
 * Serves `pages` on 127.0.0.1 with an ETag (a hash of the body) and Last-Modified, answering
 * conditional requests with 304, as nginx would. `placeholder` in bodies is replaced by the
 * server's own origin, so sitemaps carry real URLs.
 */
export async function startWebServer(pages: Map<string, SitePage>): Promise<TestWebServer> {
  const started = new Date(Date.now() - 60_000).toUTCString();
  const state = {
    origin: '',
    pages,
    hits: new Map<string, number>(),
    notModified: 0,
    delayMs: 0,
    reset() {
      state.hits.clear();
      state.notModified = 0;
    },
    close: async () => {},
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    state.hits.set(path, (state.hits.get(path) ?? 0) + 1);
    if (state.delayMs > 0) await new Promise((r) => setTimeout(r, state.delayMs));
    const page = pages.get(path) ?? pages.get(path.replace(/\.gz$/, ''));
    if (page === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    if (page.status !== undefined) {
      res.writeHead(page.status, { 'content-type': 'text/plain' }).end('error');
      return;
    }
    if (page.redirect !== undefined) {
      res.writeHead(302, { location: page.redirect }).end();
      return;
    }
    let body =
      typeof page.body === 'string'
        ? Buffer.from(page.body.replaceAll('http://placeholder', state.origin))
        : Buffer.from(page.body);
    if (path.endsWith('.gz') && !pages.has(path)) body = gzipSync(body);
    const etag = `"${createHash('sha1').update(body).digest('hex')}"`;
    if (req.headers['if-none-match'] === etag) {
      state.notModified += 1;
      res.writeHead(304, { etag }).end();
      return;
    }
    res.writeHead(200, { 'content-type': page.type, etag, 'last-modified': started }).end(body);
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}
