import type { Redis } from 'ioredis';
import type { ExchangeFence } from '../store/conversations.js';
import { APPEND, conversationKey, END_STREAM, RENEW, streamKeys } from './redis-stream-keys.js';
import type { ChatEvent, StreamOwner } from './stream-registry.js';
import { parseEventId } from './stream-registry.js';

/** Writes still queued past which a stream stops writing to Redis (Redis far too slow). */
const MAX_PENDING_WRITES = 5_000;

/** Settings of a {@link StreamJournal}. */
export interface JournalOptions {
  redis: Redis;
  keyPrefix: string;
  /** Entries kept per stream (`XADD … MAXLEN`): the oldest go first. */
  maxEvents: number;
  /** How long a running stream's keys live after its last event (bounds an orphan's keys). */
  runningTtlMs: number;
  /** How long a finished stream stays resumable. */
  retentionMs: number;
  /** How long the producer's lease lasts without renewal: another origin may take over after it. */
  leaseMs: number;
  onError?: (error: unknown, operation: string) => void;
}

/**
 * The Redis side of one stream produced here: every event is appended, in order, to the
 * stream's Redis Stream while this origin holds its lease; the lease is renewed on a timer, so
 * that it expires soon after this origin dies. Writes are chained one after another (order is
 * the contract) and never block the answer: a Redis failure costs resumes elsewhere, not the
 * answer this origin is streaming to its own reader.
 */
export class StreamJournal {
  private chain: Promise<unknown> = Promise.resolve();
  private pending = 0;
  private broken = false;
  private lost = false;
  private lastSequence: number;
  private readonly renewal: NodeJS.Timeout;
  private readonly keys: ReturnType<typeof streamKeys>;

  constructor(
    private readonly options: JournalOptions,
    readonly id: string,
    private readonly token: string,
    private readonly owner: StreamOwner,
    /** The last sequence already in Redis (a takeover continues after it). */
    startSequence: number,
    /** 1 for the producer that opened the stream, one more for each takeover (`CLAIM`). */
    private readonly generation: number,
    /** Called once when another origin holds the lease now: this one must stop its answer. */
    private readonly onLost: () => void,
  ) {
    this.keys = streamKeys(options.keyPrefix, id);
    this.lastSequence = startSequence;
    this.renewal = setInterval(() => this.renew(), Math.max(100, Math.floor(options.leaseMs / 3)));
    this.renewal.unref();
  }

  /** Records a new stream: its owner and question, the lease, the conversation's running answer. */
  open(question: string): void {
    const { redis, runningTtlMs, leaseMs } = this.options;
    this.enqueue('open', async () => {
      await redis
        .multi()
        .set(this.keys.lease, this.token, 'PX', leaseMs)
        .hset(this.keys.meta, {
          site: String(this.owner.siteId),
          conversation: this.owner.conversationId,
          question,
          generation: String(this.generation),
        })
        .pexpire(this.keys.meta, runningTtlMs)
        .exec();
      await this.markConversation();
    });
  }

  /** Marks the conversation as answered now (a takeover does it again for its own lease). */
  async markConversation(): Promise<void> {
    const { redis, keyPrefix, runningTtlMs } = this.options;
    const key = conversationKey(keyPrefix, this.owner.siteId, this.owner.conversationId);
    await redis.set(key, this.id, 'PX', runningTtlMs);
  }

  /** The tap of the stream: appends each event, and the end marker on `null`. */
  readonly tap = (event: ChatEvent | null): Promise<void> | undefined => {
    if (event === null) return this.end();
    const sequence = parseEventId(event.id)?.sequence ?? this.lastSequence + 1;
    this.lastSequence = sequence;
    // Once Redis failed, the answer goes on here without waiting for it.
    if (this.broken) return undefined;
    const { maxEvents, runningTtlMs, leaseMs } = this.options;
    const data = JSON.stringify(event.data);
    return this.enqueue('append', async () => {
      const args = [runningTtlMs, leaseMs, event.event, data, event.retry ?? ''];
      if ((await this.script(APPEND, sequence, maxEvents, args)) === 0) this.loseLease();
    });
  };

  /** Runs a fenced script on this stream's keys (events, lease, meta) with its token first. */
  private script(
    lua: string,
    sequence: number,
    maxEvents: number,
    more: Array<string | number>,
  ): Promise<unknown> {
    const { events, lease, meta } = this.keys;
    return this.options.redis.eval(
      lua,
      3,
      events,
      lease,
      meta,
      this.token,
      sequence,
      maxEvents,
      ...more,
    );
  }

  /**
   * The fencing token under which this answer's exchange is stored, or `null` when another
   * origin holds the lease now (it took the answer over and stores it). Asked of Redis, since a
   * paused process learns of a lost lease only at its next renewal; when Redis cannot say, the
   * token is given and the database's fence decides.
   */
  async fence(): Promise<ExchangeFence | null> {
    if (this.lost) return null;
    await this.flushed();
    const holder = await this.options.redis.get(this.keys.lease).catch(() => this.token);
    if (holder !== null && holder !== this.token) {
      this.loseLease();
      return null;
    }
    return { streamId: this.id, generation: this.generation };
  }

  /** Whether a reader on another origin follows the stream now. */
  async wanted(): Promise<boolean> {
    return (await this.options.redis.exists(this.keys.readers)) === 1;
  }

  private end(): Promise<void> | undefined {
    clearInterval(this.renewal);
    const { redis, maxEvents, retentionMs, keyPrefix } = this.options;
    const sequence = this.lastSequence + 1;
    return this.enqueue('end', async () => {
      if ((await this.script(END_STREAM, sequence, maxEvents, [retentionMs])) === 0) return;
      const key = conversationKey(keyPrefix, this.owner.siteId, this.owner.conversationId);
      // Only this stream's own mark: a newer answer in the conversation may have set its own.
      if ((await redis.get(key)) === this.id) await redis.del(key);
    });
  }

  /** Settles when every write queued so far is done (tests, shutdown). */
  flushed(): Promise<void> {
    return this.chain.then(() => undefined);
  }

  private renew(): void {
    if (this.lost) return;
    this.options.redis.eval(RENEW, 1, this.keys.lease, this.token, this.options.leaseMs).then(
      (held) => {
        if (held === 0) this.loseLease();
      },
      (error: unknown) => this.options.onError?.(error, 'renew'),
    );
  }

  private loseLease(): void {
    if (this.lost) return;
    this.lost = true;
    this.broken = true;
    clearInterval(this.renewal);
    this.onLost();
  }

  /** Queues `write` after the others; the promise settles (never rejects) when it is done. */
  private enqueue(operation: string, write: () => Promise<void>): Promise<void> | undefined {
    if (this.pending >= MAX_PENDING_WRITES) {
      this.broken = true;
      return undefined;
    }
    this.pending += 1;
    this.chain = this.chain
      .then(write)
      .catch((error: unknown) => {
        // A lost write leaves a gap: readers elsewhere stop at it rather than skip an event.
        if (operation === 'append') this.broken = true;
        this.options.onError?.(error, operation);
      })
      .finally(() => {
        this.pending -= 1;
      });
    return this.chain as Promise<void>;
  }
}
