import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { waitForRedis } from '../cache/redis.js';
import { AppError } from '../errors.js';
import { continuation } from './continuation.js';
import { StreamJournal } from './redis-stream-journal.js';
import {
  CLAIM,
  conversationKey,
  decodeEntry,
  END,
  sequenceOf,
  streamKeys,
} from './redis-stream-keys.js';
import type { ChatStreams, RestartAnswer, ResumedStream } from './stream-registry.js';
import {
  type ChatEvent,
  type ChatStream,
  type Listener,
  parseEventId,
  type StreamLimits,
  type StreamOwner,
  StreamRegistry,
} from './stream-registry.js';

/** Settings of a {@link RedisStreamRegistry}. */
export interface RedisStreamOptions {
  /** For short commands; shared with nothing that blocks. */
  redis: Redis;
  /** Opens a connection for one reader's blocking `XREAD` (closed when the reader leaves). */
  connectReader: () => Redis;
  keyPrefix: string;
  /** The bounds of the streams produced here; `maxEventsPerStream` is also the Redis cap. */
  limits: StreamLimits;
  /** The producer's lease: an answer whose origin stopped renewing it this long is taken over. */
  leaseMs: number;
  /** How long a running stream's keys live after its last event. */
  runningTtlMs: number;
  /** Readers following streams from Redis at once (each holds a connection); past it, 503. */
  maxReaders: number;
  /** Longest wait of one `XREAD BLOCK`; lease checks happen between waits. Default 1000. */
  blockMs?: number;
  onError?: (error: unknown, operation: string) => void;
  /** Told when this origin takes over an answer whose producer died. */
  onTakeover?: (streamId: string) => void;
}

/** Events read per `XREAD`: bounds one reply's size. */
const READ_COUNT = 200;

/**
 * Chat streams shared by every origin on one Redis: the streams this origin produces live in an
 * in-process {@link StreamRegistry} (its readers are served from memory) and are journaled to
 * Redis Streams, so that a reader who reconnects to ANY origin with `Last-Event-ID` gets what
 * followed and then the live events. When the producing origin dies, its lease expires and the
 * origin a reader resumes on answers the question again, skipping what was sent (see
 * `continuation`). Event ids stay `<stream id>.<sequence>`: the stream id is random across
 * origins and the sequence is the producer's, fenced by the lease.
 */
export class RedisStreamRegistry implements ChatStreams {
  private readonly local: StreamRegistry;
  private readers = 0;
  private readonly blockMs: number;
  readonly shared = true;

  constructor(private readonly options: RedisStreamOptions) {
    this.local = new StreamRegistry(options.limits);
    this.blockMs = options.blockMs ?? 1000;
  }

  get size(): number {
    return this.local.size;
  }

  get running(): number {
    return this.local.running;
  }

  /** Readers following a stream from Redis now. */
  get remoteReaders(): number {
    return this.readers;
  }

  ensureRoom(): void {
    this.local.ensureRoom();
  }

  shutdown(retryAfterMs: number, timeoutMs: number): Promise<number> {
    return this.local.shutdown(retryAfterMs, timeoutMs);
  }

  create(owner: StreamOwner, question: string): ChatStream {
    this.local.ensureRoom();
    const id = randomBytes(9).toString('base64url');
    const journal = this.journal(id, randomBytes(12).toString('base64url'), owner, 0, 1);
    journal.open(question);
    const stream = this.local.create(owner, question, {
      id,
      tap: journal.tap,
      wanted: () => journal.wanted(),
      fence: () => journal.fence(),
    });
    this.onLost.set(journal, stream);
    return stream;
  }

  async holds(siteId: number, conversationId: string): Promise<boolean> {
    if (this.local.holdsHere(siteId, conversationId)) return true;
    const key = conversationKey(this.options.keyPrefix, siteId, conversationId);
    return (await this.options.redis.exists(key).catch(() => 0)) === 1;
  }

  async resume(
    lastEventId: string,
    siteId: number,
    conversationId?: string,
    restart?: RestartAnswer,
  ): Promise<ResumedStream | null> {
    const here = this.local.resumeHere(lastEventId, siteId, conversationId);
    if (here !== null) return here;
    const id = parseEventId(lastEventId);
    if (id === null) return null;
    const { redis } = this.options;
    const keys = streamKeys(this.options.keyPrefix, id.stream);
    let meta: Record<string, string>;
    let first: Array<[string, string[]]>;
    try {
      [meta, first] = await Promise.all([
        redis.hgetall(keys.meta),
        redis.xrange(keys.events, '-', '+', 'COUNT', 1),
      ]);
    } catch (error) {
      this.options.onError?.(error, 'resume');
      throw new AppError('unavailable', 'answers cannot be resumed right now; ask again', {
        headers: { 'Retry-After': '2' },
      });
    }
    if (meta.site === undefined || Number(meta.site) !== siteId) return null;
    if (conversationId !== undefined && meta.conversation !== conversationId) return null;
    const oldest = first[0] === undefined ? 1 : sequenceOf(first[0][0]);
    if (id.sequence + 1 < oldest) {
      throw new AppError('conflict', 'this answer is too long to resume; ask again');
    }
    if (this.readers >= this.options.maxReaders) {
      throw new AppError('overloaded', 'too many answers being resumed; try again shortly', {
        headers: { 'Retry-After': '2' },
      });
    }
    const owner: StreamOwner = { siteId, conversationId: meta.conversation! };
    const question = meta.question ?? '';
    return {
      subscribe: (listener) =>
        this.follow(id.stream, id.sequence, listener, () => {
          if (restart !== undefined) return this.takeOver(id.stream, owner, question, restart);
          return Promise.resolve();
        }),
    };
  }

  /** Ends every reader following a stream from Redis here: their responses end, connections close. */
  async close(): Promise<void> {
    for (const stop of [...this.followers]) stop();
  }

  /** How to end each reader following from Redis now (for `close`). */
  private readonly followers = new Set<() => void>();

  /** The stream of a producer that lost its lease: stopped, its readers sent elsewhere. */
  private readonly onLost = new WeakMap<StreamJournal, ChatStream>();

  private journal(
    id: string,
    token: string,
    owner: StreamOwner,
    start: number,
    generation: number,
  ): StreamJournal {
    const { redis, keyPrefix, limits, runningTtlMs, leaseMs, onError } = this.options;
    const journal: StreamJournal = new StreamJournal(
      {
        redis,
        keyPrefix,
        maxEvents: limits.maxEventsPerStream,
        runningTtlMs,
        retentionMs: limits.retentionMs,
        leaseMs,
        onError,
      },
      id,
      token,
      owner,
      start,
      generation,
      // No last event: the reader's reconnect resumes from the origin that took the answer over.
      () => this.onLost.get(journal)?.abandon(),
    );
    return journal;
  }

  /**
   * Sends `listener` the events of stream `id` after `after` from Redis, then the live ones as
   * they are appended, until the end marker. Between waits it marks the stream as followed (so
   * its producer keeps going) and, when the producer's lease is gone, calls `orphaned`. A gap
   * (an entry lost or trimmed) ends the stream early: the reader reconnects and is told then.
   */
  private follow(
    id: string,
    after: number,
    listener: Listener,
    orphaned: () => Promise<void>,
  ): () => void {
    const { redis, keyPrefix } = this.options;
    const keys = streamKeys(keyPrefix, id);
    const connection = this.options.connectReader();
    this.readers += 1;
    let stopped = false;
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      this.readers -= 1;
      connection.disconnect();
    };
    const run = async () => {
      let last = after;
      if (!(await waitForRedis(connection, 3_000)))
        throw new Error('stream reader: redis not ready');
      while (!stopped) {
        void redis.set(keys.readers, '1', 'PX', this.blockMs * 3).catch(() => {});
        const reply = (await connection.xread(
          'COUNT',
          READ_COUNT,
          'BLOCK',
          this.blockMs,
          'STREAMS',
          keys.events,
          `0-${last}`,
        )) as Array<[string, Array<[string, string[]]>]> | null;
        if (stopped) return;
        if (reply === null) {
          const [meta, lease] = await Promise.all([
            redis.exists(keys.meta),
            redis.exists(keys.lease),
          ]);
          if (meta === 0) return; // expired: nothing more will come
          if (lease === 0) await orphaned();
          continue;
        }
        for (const [entryId, fields] of reply[0]?.[1] ?? []) {
          const sequence = sequenceOf(entryId);
          const event = decodeEntry(id, entryId, fields);
          if (event === END) return;
          if (sequence !== last + 1 || event === null) return;
          last = sequence;
          listener(event as ChatEvent);
        }
      }
    };
    run()
      .catch((error: unknown) => {
        if (!stopped) this.options.onError?.(error, 'follow');
      })
      .finally(() => {
        this.followers.delete(terminate);
        end();
        if (!stopped) listener(null);
      });
    const terminate = () => {
      if (stopped) return;
      stopped = true;
      end();
      listener(null);
    };
    this.followers.add(terminate);
    return () => {
      stopped = true;
      this.followers.delete(terminate);
      end();
    };
  }

  /**
   * Takes over the answer of stream `id`, whose producer's lease expired: claims the lease (one
   * origin wins, with the next generation: the fence its exchange is stored under, so that a
   * producer that was only paused cannot store a second one), reads what was sent, and starts
   * the answer again here as a continuation of the same stream id and sequence. A stream that
   * had ended, or whose beginning was trimmed, is closed instead of answered twice.
   */
  private async takeOver(
    id: string,
    owner: StreamOwner,
    question: string,
    restart: RestartAnswer,
  ): Promise<void> {
    const { redis, keyPrefix, leaseMs } = this.options;
    const keys = streamKeys(keyPrefix, id);
    const token = randomBytes(12).toString('base64url');
    const generation = Number(await redis.eval(CLAIM, 2, keys.lease, keys.meta, token, leaseMs));
    if (generation === 0) return;
    const entries = (await redis.xrange(keys.events, '-', '+')) as Array<[string, string[]]>;
    const sent: ChatEvent[] = [];
    let last = 0;
    let finished = false;
    let complete = true;
    for (const [entryId, fields] of entries) {
      const sequence = sequenceOf(entryId);
      if (sequence !== last + 1) complete = false;
      last = sequence;
      const event = decodeEntry(id, entryId, fields);
      if (event === END || event === null) finished = true;
      else {
        sent.push(event);
        if (event.event === 'done' || event.event === 'error') finished = true;
      }
    }
    const journal = this.journal(id, token, owner, last, generation);
    if (finished || !complete || !this.hasRoom()) {
      if (!finished) {
        journal.tap({
          id: `${id}.${last + 1}`,
          event: 'error',
          data: {
            code: 'unavailable',
            message: 'The answer was interrupted; please ask again.',
            retryable: true,
          },
        });
      }
      journal.tap(null);
      return;
    }
    await journal.markConversation();
    const stream = this.local.create(owner, question, {
      id,
      startSequence: last,
      tap: journal.tap,
      wanted: () => journal.wanted(),
      fence: () => journal.fence(),
      rewrite: continuation(sent),
    });
    this.onLost.set(journal, stream);
    this.options.onTakeover?.(id);
    restart(stream, question);
  }

  private hasRoom(): boolean {
    try {
      this.local.ensureRoom();
      return true;
    } catch {
      return false;
    }
  }
}
