/**
 * Web sync benchmark: pages per second for a first sync and for an unchanged re-sync of a
 * ~500-page website served on loopback (the Hono docs rendered to HTML, six times over), next to
 * a plain fetch of the same URLs with the same concurrency, in one run on one machine.
 *
 *   eval "$(bash scripts/services.sh env)" && npm run bench:sync [-- --copies 6 --db postgres]
 *
 * The first sync parses, chunks, embeds (the offline `hash` embedder: no model weights can be
 * had here) and stores every page; the re-sync gets a 304 for each and embeds nothing.
 * Writes bench/results/sync.json.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { createTestDatabase, type Harness, startHarness } from '../origin/test/harness.js';
import { renderHonoSite, startWebServer } from '../test/web-site.js';
import { machineInfo } from './lib/machine.js';
import { runMain, writeResult } from './lib/result.js';

const { values } = parseArgs({
  options: {
    copies: { type: 'string', default: '6' },
    concurrency: { type: 'string', default: '4' },
    db: { type: 'string', default: 'postgres' },
  },
});
const copies = Number(values.copies);
const concurrency = Number(values.concurrency);
const db = values.db as 'postgres' | 'pglite';

/** Fetches every URL with `concurrency` requests in flight, reading each body whole. */
async function plainFetch(urls: readonly string[]): Promise<number> {
  const agent = new Agent({ connections: 8 });
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < urls.length) {
        const url = urls[next++]!;
        const response = await request(url, { dispatcher: agent });
        await response.body.arrayBuffer();
        if (response.statusCode !== 200) throw new Error(`${url}: ${response.statusCode}`);
      }
    }),
  );
  const ms = performance.now() - started;
  await agent.close();
  return ms;
}

/** Search latencies (ms) of one reader, a query every 50 ms, until `until` settles. */
async function probeSearch(h: Harness, until: Promise<unknown>): Promise<number[]> {
  let done = false;
  void until.finally(() => {
    done = true;
  });
  const latencies: number[] = [];
  while (!done) {
    const started = performance.now();
    const response = await h.request('POST', '/api/v1/sites/reader/search', {
      json: { query: 'How do I read a cookie in a handler?', k: 5 },
    });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`search answered ${response.status}`);
    latencies.push(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return latencies;
}

/** The event loop's delay while `work` runs (the origin, the web server and the reader share it). */
async function loopDelayDuring<T>(work: Promise<T>) {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  const result = await work;
  histogram.disable();
  const ms = (ns: number) => Math.round(ns / 1e5) / 10;
  return {
    result,
    delay: {
      p50Ms: ms(histogram.percentile(50)),
      p99Ms: ms(histogram.percentile(99)),
      maxMs: ms(histogram.max),
    },
  };
}

function percentiles(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) =>
    Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 10) / 10;
  return { requests: sorted.length, p50Ms: at(0.5), p95Ms: at(0.95), maxMs: at(1) };
}

async function main() {
  const pages = renderHonoSite({ copies });
  const paths = [...pages.entries()]
    .filter(([, page]) => page.type.startsWith('text/html'))
    .map(([path]) => path);
  const web = await startWebServer(pages);
  const database = await createTestDatabase(db);
  const h = await startHarness({
    database,
    env: {
      EMBEDDER: 'hash',
      CRAWL_ALLOW_HOSTS: '127.0.0.1',
      CRAWL_CONCURRENCY: String(concurrency),
      SYNC_SCHEDULER_MS: '0',
    },
  });
  try {
    const urls = paths.map((path) => `${web.origin}${path}`);
    await plainFetch(urls.slice(0, 20)); // warm the server and the connection pool
    const fetchMs = await plainFetch(urls);
    // A second site that a reader searches all along: its latency while the sync runs.
    await h.createSite('reader');
    const readerDocs = paths.slice(0, 40).map((path) => ({
      title: path,
      content: String(pages.get(path)!.body),
      format: 'html',
      url: `https://reader.invalid${path}`,
    }));
    await h.request('POST', '/api/v1/sites/reader/documents', { json: { documents: readerDocs } });
    const { result: idle, delay: idleDelay } = await loopDelayDuring(
      probeSearch(h, new Promise((resolve) => setTimeout(resolve, 3_000))),
    );
    await h.createSite('bench');
    const added = await h.request('POST', '/api/v1/sites/bench/sources', {
      json: { sitemap: `${web.origin}/sitemap.xml`, maxPages: 10_000 },
    });
    if (added.status !== 201) throw new Error(await added.text());
    const sync = async () => {
      const started = performance.now();
      const response = await h.request('POST', '/api/v1/sites/bench/sync', { json: {} });
      if (response.status !== 200) throw new Error(await response.text());
      const { runs } = await response.json();
      return { ms: performance.now() - started, stats: runs[0].stats };
    };
    const firstRun = sync();
    const { result: during, delay: duringDelay } = await loopDelayDuring(probeSearch(h, firstRun));
    const first = await firstRun;
    const embeddedAfterFirst = (await h.services.metrics.ingestedChunks.get()).values[0]!.value;
    const again = await sync();
    const embeddedAfterAgain = (await h.services.metrics.ingestedChunks.get()).values[0]!.value;
    const rate = (ms: number) => Math.round((paths.length / ms) * 1000 * 10) / 10;
    const result = {
      benchmark: 'sync',
      command: `npm run bench:sync -- --copies ${copies} --concurrency ${concurrency} --db ${db}`,
      date: new Date().toISOString(),
      machine: machineInfo(),
      database: db,
      embedder: 'hash',
      pages: paths.length,
      concurrency,
      plainFetch: { seconds: fetchMs / 1000, pagesPerSecond: rate(fetchMs) },
      firstSync: {
        seconds: first.ms / 1000,
        pagesPerSecond: rate(first.ms),
        stats: first.stats,
        chunksEmbedded: embeddedAfterFirst,
      },
      unchangedResync: {
        seconds: again.ms / 1000,
        pagesPerSecond: rate(again.ms),
        stats: again.stats,
        chunksEmbedded: embeddedAfterAgain - embeddedAfterFirst,
        notModifiedResponses: web.notModified,
      },
      readerSearchLatency: { idle: percentiles(idle), duringFirstSync: percentiles(during) },
      eventLoopDelay: { idle: idleDelay, duringFirstSync: duringDelay },
      ratios: {
        firstSyncToPlainFetch: Math.round((fetchMs / first.ms) * 1000) / 1000,
        resyncToPlainFetch: Math.round((fetchMs / again.ms) * 1000) / 1000,
      },
    };
    writeResult('sync', result);
  } finally {
    await h.close();
    await web.close();
  }
}

runMain(main);
