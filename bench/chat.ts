/**
 * Chat under concurrency: one origin process (extractive answers, the `hash` embedder) serving
 * 1, 100 and 1,000 chat streams at once over real HTTP on loopback, each asking a different
 * Cranfield question of a site holding the Cranfield abstracts. Reports p50/p99 time to the first
 * `token` event and how many streams completed with `done`. Then the cache: the same questions
 * asked again (hits) against their first asking (misses), time to first token in the same run.
 *
 *   eval "$(bash scripts/services.sh env)" && npm run bench:chat -- --db postgres
 *
 * Writes bench/results/chat-<db>.json.
 */
import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { serve } from '@hono/node-server';
import { loadCollection } from '../origin/src/eval/collection.js';
import { ADMIN_TOKEN, createTestDatabase, startHarness } from '../origin/test/harness.js';

const { values } = parseArgs({ options: { db: { type: 'string', default: 'postgres' } } });
const kind = values.db === 'pglite' ? 'pglite' : 'postgres';
const CRANFIELD = new URL('../../shared/data/ir/cranfield/', import.meta.url).pathname;

interface StreamResult {
  ttftMs: number | null;
  completed: boolean;
  cache: string | null;
}

async function ask(base: string, message: string): Promise<StreamResult> {
  const started = performance.now();
  const response = await fetch(`${base}/api/v1/sites/bench/chat`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ message }),
    signal: AbortSignal.timeout(300_000),
  });
  if (response.status !== 200 || response.body === null)
    return { ttftMs: null, completed: false, cache: null };
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let ttftMs: number | null = null;
  let completed = false;
  let cache: string | null = null;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    if (ttftMs === null && buffer.includes('event: token')) ttftMs = performance.now() - started;
    if (cache === null) cache = /"cache":"(\w+)"/.exec(buffer)?.[1] ?? null;
    if (buffer.includes('event: done')) completed = true;
    if (buffer.length > 4096) buffer = buffer.slice(-1024);
  }
  return { ttftMs, completed, cache };
}

function stats(results: StreamResult[]) {
  const times = results
    .map((r) => r.ttftMs)
    .filter((t): t is number => t !== null)
    .sort((a, b) => a - b);
  const at = (p: number) =>
    Math.round(times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))]! * 10) / 10;
  return {
    streams: results.length,
    completed: results.filter((r) => r.completed).length,
    ttftP50Ms: at(50),
    ttftP99Ms: at(99),
  };
}

async function main() {
  const collection = await loadCollection(CRANFIELD);
  const database = await createTestDatabase(kind);
  const h = await startHarness({
    database,
    env: { EMBEDDER: 'hash', RERANKER: 'none', DB_POOL_MAX: '10' },
  });
  const server = serve({ fetch: h.app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise((resolve) => server.once('listening', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    await h.createSite('bench');
    for (let i = 0; i < collection.documents.length; i += 100) {
      const documents = collection.documents.slice(i, i + 100).map((d) => ({
        title: d.title || d.id,
        content: d.text || d.title || d.id,
        format: 'text',
        url: `https://bench.local/${d.id}`,
      }));
      const response = await h.request('POST', '/api/v1/sites/bench/documents', {
        json: { documents },
      });
      if (response.status !== 201) throw new Error(await response.text());
    }
    // Distinct questions, so that the concurrency runs measure misses: Cranfield queries, numbered.
    let next = 0;
    const question = () => {
      const q = collection.queries[next % collection.queries.length]!.text;
      next += 1;
      return `${q} (${next})`;
    };
    await ask(base, question());
    const concurrency: Record<string, ReturnType<typeof stats>> = {};
    for (const n of [1, 100, 1000]) {
      const results = await Promise.all(Array.from({ length: n }, () => ask(base, question())));
      concurrency[n] = stats(results);
      process.stderr.write(`${n} streams: ${JSON.stringify(concurrency[n])}\n`);
    }
    const asked = Array.from({ length: 30 }, () => question());
    const misses: StreamResult[] = [];
    const hits: StreamResult[] = [];
    for (const q of asked) misses.push(await ask(base, q));
    for (const q of asked) hits.push(await ask(base, q));
    const miss = stats(misses);
    const hit = stats(hits);
    const result = {
      name: `chat-${kind}`,
      command: `npm run bench:chat -- --db ${kind}`,
      date: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        node: process.version,
      },
      setup:
        'one origin process, extractive answers, hash embedder, no reranker, DB pool 10, Cranfield site (1,400 abstracts), real HTTP on loopback',
      concurrency,
      cache: {
        missTtftP50Ms: miss.ttftP50Ms,
        hitTtftP50Ms: hit.ttftP50Ms,
        hitsReportedAsHit: hits.filter((r) => r.cache === 'hit').length,
        hitOverMissAtP50: Math.round((hit.ttftP50Ms / miss.ttftP50Ms) * 1000) / 1000,
        target: 'hitOverMissAtP50 <= 0.1',
      },
      target: 'every one of 1,000 concurrent streams completes',
    };
    writeFileSync(
      new URL(`results/chat-${kind}.json`, import.meta.url),
      `${JSON.stringify(result, null, 2)}\n`,
    );
    console.log(JSON.stringify(result, null, 2));
  } finally {
    server.close();
    await h.close();
    await database.drop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
