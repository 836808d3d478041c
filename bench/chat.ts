/**
 * Chat under concurrency: one origin process (extractive answers, the `hash` embedder) serving
 * 1, 100 and 1,000 chat streams at once over real HTTP on loopback, each asking a different
 * Cranfield question of a site holding the Cranfield abstracts. Reports p50/p99 time to the first
 * `token` event and how many streams completed with `done`. Then the cache: the same questions
 * asked again (hits) against their first asking (misses), time to first token in the same run,
 * twice: with extractive answers (a miss costs only retrieval) and with an OpenAI-compatible
 * upstream, the local stub with a first token after `LLM_TTFT_MS` (what the cache exists to save).
 *
 *   eval "$(bash scripts/services.sh env)" && npm run bench:chat -- --db postgres
 *
 * Writes bench/results/chat-<db>.json.
 */
import { writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { serve } from '@hono/node-server';
import { configureHttpServer } from '../origin/src/http-server.js';
import { createTestDatabase, startHarness } from '../origin/test/harness.js';
import { startLlmStub } from '../origin/test/llm-stub.js';
import { loadCollection } from '../origin/tools/eval/collection.js';
import { ask, type StreamResult, stats } from './lib/chat-client.js';

const { values } = parseArgs({ options: { db: { type: 'string', default: 'postgres' } } });
const kind = values.db === 'pglite' ? 'pglite' : 'postgres';
const CRANFIELD = new URL('../../shared/data/ir/cranfield/', import.meta.url).pathname;
/**
 * The stub upstream's time to first token. Hosted chat models typically take 0.3–1 s to their
 * first token on a RAG-sized prompt; 400 ms is at the fast end, so the ratio is not flattered.
 */
const LLM_TTFT_MS = 400;
/** Questions asked twice (miss, then hit) per cache measurement. */
const CACHE_QUESTIONS = 30;

/**
 * Starts an origin with `env` on `database`, and asks fresh questions twice each: the first
 * asking misses, the second hits.
 */
async function measureCache(
  database: Awaited<ReturnType<typeof createTestDatabase>>,
  env: Record<string, string>,
  question: () => string,
  upstreamCalls: () => number = () => 0,
) {
  const h = await startHarness({
    database,
    env: { EMBEDDER: 'hash', RERANKER: 'none', DB_POOL_MAX: '10', ...env },
  });
  const server = serve({ fetch: h.app.fetch, hostname: '127.0.0.1', port: 0 });
  configureHttpServer(server as Server);
  await new Promise((resolve) => server.once('listening', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    return await askTwice(base, question, upstreamCalls);
  } finally {
    server.close();
    await h.close();
  }
}

async function askTwice(base: string, question: () => string, upstreamCalls: () => number) {
  const asked = Array.from({ length: CACHE_QUESTIONS }, () => question());
  const misses: StreamResult[] = [];
  const hits: StreamResult[] = [];
  for (const q of asked) misses.push(await ask(base, q));
  const callsBeforeHits = upstreamCalls();
  for (const q of asked) hits.push(await ask(base, q));
  // A hit must not reach the upstream at all: that, not the ratio alone, is what the cache buys.
  const upstreamCallsDuringHits = upstreamCalls() - callsBeforeHits;
  const miss = stats(misses);
  const hit = stats(hits);
  return {
    missTtftP50Ms: miss.ttftP50Ms,
    hitTtftP50Ms: hit.ttftP50Ms,
    missesReportedAsMiss: misses.filter((r) => r.cache === 'miss').length,
    hitsReportedAsHit: hits.filter((r) => r.cache === 'hit').length,
    upstreamCallsDuringHits,
    hitOverMissAtP50: Math.round((hit.ttftP50Ms / miss.ttftP50Ms) * 1000) / 1000,
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
  configureHttpServer(server as Server);
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
    // Each cache measurement gets a fresh origin (an empty in-process cache) on the same site:
    // the concurrency runs above asked every Cranfield question already, and a paraphrase of a
    // question asked there would be a semantic hit counted as a miss.
    const extractiveCache = await measureCache(database, {}, question);
    const llm = await startLlmStub();
    let llmCache: Awaited<ReturnType<typeof measureCache>>;
    try {
      llmCache = await measureCache(
        database,
        { LLM_BASE_URL: llm.url, LLM_MODEL: `first-${LLM_TTFT_MS}` },
        question,
        () => llm.requests.length,
      );
    } finally {
      await llm.close();
    }
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
        extractive: extractiveCache,
        llm: {
          upstream: `local OpenAI-compatible stub, first token after ${LLM_TTFT_MS} ms`,
          ...llmCache,
        },
        target: 'hitOverMissAtP50 <= 0.1 (the llm case: a miss waits for the upstream)',
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
