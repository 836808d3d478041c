import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HashEmbedder } from '../src/embedders/hash.js';
import type { Embedder } from '../src/embedders/types.js';
import type { BoundedQueue } from '../src/lib/bounded-queue.js';
import { type Harness, startHarness, TEST_DB } from './harness.js';
import { readSse } from './sse.js';

const EMBED_MS = 300;

/**
 * The offline embedder made as slow as a model on a busy CPU: every call holds its slot for
 * `EMBED_MS`, so that concurrent requests really contend for the embedding queue.
 */
class SlowEmbedder implements Embedder {
  private readonly inner = new HashEmbedder();
  readonly id = this.inner.id;
  readonly dimension = this.inner.dimension;
  readonly maxBatchSize = this.inner.maxBatchSize;
  calls = 0;
  running = 0;
  maxRunning = 0;

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    this.calls += 1;
    this.running += 1;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    try {
      await new Promise((resolve) => setTimeout(resolve, EMBED_MS));
      return await this.inner.embed(texts);
    } finally {
      this.running -= 1;
    }
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

describe(`the embedding queue is bounded: a flood gets 503 overloaded, never unbounded growth (${TEST_DB})`, () => {
  let h: Harness;
  const slow = new SlowEmbedder();
  beforeAll(async () => {
    h = await startHarness({
      embedder: slow,
      env: { EMBED_CONCURRENCY: '1', EMBED_QUEUE_MAX: '3', RERANKER: 'lexical' },
    });
    await h.createSite('docs');
    const response = await h.request('POST', '/api/v1/sites/docs/documents', {
      json: {
        documents: [
          { title: 'Backups', content: '# Backups\n\nThe nightly backup job runs pg_dump.' },
          { title: 'Widget', content: '# Widget\n\nEmbed the widget with one script tag.' },
        ],
      },
    });
    expect(response.status).toBe(201);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('30 concurrent searches and chats: at most 1 embeds at once, 3 wait, the rest are refused at once; then the queue is empty', async () => {
    const queue = (h.services.embedder as Embedder & { queue: BoundedQueue }).queue;
    let deepest = 0;
    const watch = setInterval(() => {
      deepest = Math.max(deepest, queue.depth.waiting);
    }, 5);
    const callsBefore = slow.calls;
    const started = performance.now();
    const responses = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        i % 2 === 0
          ? h.request('POST', '/api/v1/sites/docs/search', { json: { query: `backup job ${i}` } })
          : h.request('POST', '/api/v1/sites/docs/chat', { json: { message: `widget ${i}?` } }),
      ),
    );
    clearInterval(watch);
    const statuses = responses.map((response) => response.status);
    const served = statuses.filter((status) => status === 200).length;
    const refused = responses.filter((response) => response.status === 503);
    // A chat's 200 is its stream, sent before the question is embedded: when the queue is full
    // the stream ends in an `overloaded` error event instead, retryable.
    let chatsRefused = 0;
    for (const [i, response] of responses.entries()) {
      if (i % 2 === 1 && response.status === 200) {
        const items = await readSse(response.body!, { timeoutMs: 30_000 });
        const last = items.at(-1)!;
        if (last.event === 'error') {
          expect(last.data).toMatchObject({ code: 'overloaded', retryable: true });
          chatsRefused += 1;
        } else expect(last.event).toBe('done');
      }
    }
    expect(statuses.every((status) => status === 200 || status === 503)).toBe(true);
    expect(refused.length + chatsRefused).toBeGreaterThan(0);
    for (const response of refused) {
      expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(await response.json()).toMatchObject({ error: { code: 'overloaded' } });
    }
    // Everything admitted ran one at a time and waited in a list of at most 3.
    expect(slow.maxRunning).toBe(1);
    expect(deepest).toBeLessThanOrEqual(3);
    expect(served - chatsRefused).toBeGreaterThanOrEqual(4);
    expect(slow.calls - callsBefore).toBeLessThanOrEqual(served - chatsRefused);
    // Bounded in time too: never more than the admitted work, one slot after another.
    expect(performance.now() - started).toBeLessThan(EMBED_MS * (served + 1) + 10_000);
    expect(queue.depth).toEqual({ running: 0, waiting: 0 });

    const after = await h.request('POST', '/api/v1/sites/docs/search', {
      json: { query: 'backup job' },
    });
    expect(after.status).toBe(200);
  }, 60_000);
});
