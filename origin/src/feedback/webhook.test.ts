import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { notifySite, WebhookNotifier, webhookSignature } from './webhook.js';

const logger = createLogger('silent');
const EVENT = {
  type: 'question.unanswered' as const,
  site: 'docs',
  messageId: '7',
  question: 'Where is it?',
  at: '2026-12-01T00:00:00.000Z',
};

/** A loopback receiver answering each delivery with the next status of `statuses` (then 204). */
async function receiver(statuses: number[]) {
  const seen: Array<{ body: string; signature: string; at: number }> = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      seen.push({ body, signature: String(req.headers['x-ragedge-signature']), at: Date.now() });
      res.writeHead(statuses.shift() ?? 204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('WebhookNotifier', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it('signs each delivery and retries failures with growing delays until one succeeds', async () => {
    const hook = await receiver([500, 503]);
    cleanups.push(hook.close);
    const notifier = new WebhookNotifier({ logger, baseDelayMs: 100 });
    cleanups.push(() => notifier.close());
    expect(notifier.send(hook.url, 'whsec_test', EVENT)).toBe(true);
    await until(() => notifier.stats.delivered === 1);
    expect(hook.seen).toHaveLength(3);
    const [first, second, third] = hook.seen as [
      (typeof hook.seen)[0],
      (typeof hook.seen)[0],
      (typeof hook.seen)[0],
    ];
    // Backoff: about 100 ms, then about 200 ms (±20% jitter).
    expect(second.at - first.at).toBeGreaterThanOrEqual(75);
    expect(third.at - second.at).toBeGreaterThanOrEqual(155);
    expect(JSON.parse(third.body)).toEqual(EVENT);
    const timestamp = Number(/^t=(\d+),/.exec(third.signature)![1]);
    expect(third.signature).toBe(webhookSignature('whsec_test', timestamp, third.body));
    expect(third.signature).not.toBe(webhookSignature('whsec_other', timestamp, third.body));
  });

  it('gives up after maxAttempts', async () => {
    const hook = await receiver([500, 500, 500, 500]);
    cleanups.push(hook.close);
    const notifier = new WebhookNotifier({ logger, baseDelayMs: 10, maxAttempts: 3 });
    cleanups.push(() => notifier.close());
    notifier.send(hook.url, 's', EVENT);
    await until(() => notifier.stats.failed === 1);
    expect(hook.seen).toHaveLength(3);
    expect(notifier.pending).toBe(0);
  });

  it('keeps at most maxQueue deliveries waiting and drops the rest', async () => {
    const notifier = new WebhookNotifier({ logger, maxQueue: 2, baseDelayMs: 60_000 });
    cleanups.push(() => notifier.close());
    // A port nothing listens on: every delivery fails and waits a minute to be retried.
    const dead = 'http://127.0.0.1:9/';
    expect(notifier.send(dead, 's', EVENT)).toBe(true);
    expect(notifier.send(dead, 's', EVENT)).toBe(true);
    expect(notifier.send(dead, 's', EVENT)).toBe(false);
    expect(notifier.stats.dropped).toBe(1);
    expect(notifier.pending).toBeLessThanOrEqual(2);
  });

  it('sends nothing for a site without a webhook', () => {
    const notifier = new WebhookNotifier({ logger, maxQueue: 1 });
    cleanups.push(() => notifier.close());
    notifySite(notifier, 'admin-token', { name: 'docs', settings: {} }, EVENT);
    expect(notifier.pending).toBe(0);
  });
});
