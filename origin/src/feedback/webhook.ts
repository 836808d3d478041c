import { createHmac } from 'node:crypto';
import type { Logger } from '../logger.js';

/** What a site's webhook hears about: a question the documents could not answer, a downvote. */
export interface WebhookEvent {
  type: 'question.unanswered' | 'answer.downvoted';
  site: string;
  messageId: string;
  question: string;
  answer?: string;
  comment?: string | null;
  at: string;
}

interface Delivery {
  url: string;
  secret: string;
  body: string;
  attempt: number;
  dueAt: number;
}

export interface WebhookOptions {
  logger: Logger;
  /** Deliveries waiting at most; past it new events are dropped (and logged), never buffered. */
  maxQueue?: number;
  maxAttempts?: number;
  /** First retry after this long, doubling each time (with jitter). */
  baseDelayMs?: number;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/**
 * Delivers site webhooks in the background, one at a time: a JSON body signed
 * `X-Ragedge-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` with the site's
 * webhook secret; a non-2xx answer or a network failure is retried with exponential backoff, up
 * to `maxAttempts`. The queue is bounded, so a dead receiver costs memory no more than that.
 */
export class WebhookNotifier {
  readonly #queue: Delivery[] = [];
  readonly #options: Required<Omit<WebhookOptions, 'logger'>> & { logger: Logger };
  #timer: NodeJS.Timeout | null = null;
  #busy = false;
  #closed = false;
  /** Counts for tests and health: delivered, given up after retries, dropped on a full queue. */
  readonly stats = { delivered: 0, failed: 0, dropped: 0 };

  constructor(options: WebhookOptions) {
    this.#options = {
      maxQueue: 1_000,
      maxAttempts: 5,
      baseDelayMs: 1_000,
      timeoutMs: 5_000,
      fetch: globalThis.fetch,
      ...options,
    };
  }

  /** Queues `event` for `url`; false when the queue is full (the event is dropped). */
  send(url: string, secret: string, event: WebhookEvent): boolean {
    if (this.#closed) return false;
    if (this.#queue.length >= this.#options.maxQueue) {
      this.stats.dropped += 1;
      this.#options.logger.warn(
        { site: event.site, type: event.type },
        'webhook queue full; event dropped',
      );
      return false;
    }
    this.#queue.push({ url, secret, body: JSON.stringify(event), attempt: 0, dueAt: Date.now() });
    this.#schedule();
    return true;
  }

  /** Deliveries waiting (including those waiting to be retried). */
  get pending(): number {
    return this.#queue.length + (this.#busy ? 1 : 0);
  }

  /** Stops delivering; what is still queued is dropped. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#queue.length = 0;
  }

  #schedule(): void {
    if (this.#busy || this.#closed || this.#queue.length === 0) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    const next = Math.min(...this.#queue.map((d) => d.dueAt));
    this.#timer = setTimeout(() => void this.#deliverNext(), Math.max(0, next - Date.now()));
    this.#timer.unref();
  }

  async #deliverNext(): Promise<void> {
    this.#timer = null;
    const now = Date.now();
    const index = this.#queue.findIndex((d) => d.dueAt <= now);
    if (index === -1) return this.#schedule();
    const [delivery] = this.#queue.splice(index, 1) as [Delivery];
    this.#busy = true;
    try {
      await this.#post(delivery);
      this.stats.delivered += 1;
    } catch (error) {
      delivery.attempt += 1;
      if (delivery.attempt >= this.#options.maxAttempts || this.#closed) {
        this.stats.failed += 1;
        this.#options.logger.warn(
          { err: error, attempts: delivery.attempt },
          'webhook delivery failed; giving up',
        );
      } else {
        const backoff = this.#options.baseDelayMs * 2 ** (delivery.attempt - 1);
        delivery.dueAt = Date.now() + backoff * (0.8 + Math.random() * 0.4);
        this.#queue.push(delivery);
      }
    } finally {
      this.#busy = false;
      this.#schedule();
    }
  }

  async #post(delivery: Delivery): Promise<void> {
    const timestamp = Math.floor(Date.now() / 1000);
    const response = await this.#options.fetch(delivery.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'ragedge-webhook/1',
        'x-ragedge-signature': webhookSignature(delivery.secret, timestamp, delivery.body),
      },
      body: delivery.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(this.#options.timeoutMs),
    });
    await response.body?.cancel();
    if (response.status < 200 || response.status >= 300) {
      throw new Error(`webhook answered ${response.status}`);
    }
  }
}

/** The signature header's value for `body` sent at `timestamp` (unix seconds). */
export function webhookSignature(secret: string, timestamp: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${mac}`;
}

/**
 * A site's webhook signing secret, derived from the admin token and the site's name (names never
 * change): nothing to store, the same on every origin; changing the admin token changes it.
 */
export function siteWebhookSecret(adminToken: string, site: string): string {
  const key = createHmac('sha256', adminToken).update('ragedge webhook secret v1').digest();
  return `whsec_${createHmac('sha256', key).update(site).digest('base64url')}`;
}

/** Sends `event` to the site's webhook, when the site has one, signed with its secret. */
export function notifySite(
  webhooks: WebhookNotifier,
  adminToken: string,
  site: { name: string; settings: Record<string, unknown> },
  event: Omit<WebhookEvent, 'site' | 'at'>,
): void {
  const { webhookUrl } = site.settings;
  if (typeof webhookUrl !== 'string') return;
  webhooks.send(webhookUrl, siteWebhookSecret(adminToken, site.name), {
    ...event,
    site: site.name,
    at: new Date().toISOString(),
  });
}
