import type { Redis } from 'ioredis';
import { connectRedis } from '../cache/redis.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { RedisStreamRegistry } from './redis-stream-registry.js';
import type { ChatStreams } from './stream-registry.js';
import { StreamRegistry } from './stream-registry.js';

/** Events kept per answer for a resume (in memory, or the Redis Stream's MAXLEN). */
const MAX_EVENTS_PER_STREAM = 20_000;
/** Longest wait of a shared reader's `XREAD BLOCK`. */
const READER_BLOCK_MS = 1_000;

/** The configuration the chat streams take. */
export type StreamsConfig = Pick<
  Config,
  | 'CHAT_STREAMS'
  | 'CHAT_MAX_STREAMS'
  | 'CHAT_MAX_RETAINED_STREAMS'
  | 'CHAT_RESUME_WINDOW_MS'
  | 'CHAT_DETACH_GRACE_MS'
  | 'CHAT_STREAM_LEASE_MS'
  | 'CHAT_MAX_SHARED_READERS'
  | 'LLM_TIMEOUT_MS'
  | 'REDIS_URL'
  | 'REDIS_KEY_PREFIX'
>;

/**
 * The chat streams `CHAT_STREAMS` asks for: in this process (the default), or shared by every
 * origin through Redis Streams at `redis` (the client of REDIS_URL), each shared reader on a
 * connection of its own.
 */
export function createChatStreams(
  config: StreamsConfig,
  redis: Redis | null,
  logger: Logger,
): ChatStreams {
  const limits = {
    maxStreams: config.CHAT_MAX_STREAMS,
    maxRetained: config.CHAT_MAX_RETAINED_STREAMS,
    maxEventsPerStream: MAX_EVENTS_PER_STREAM,
    retentionMs: config.CHAT_RESUME_WINDOW_MS,
    detachGraceMs: config.CHAT_DETACH_GRACE_MS,
  };
  if (config.CHAT_STREAMS === 'memory' || redis === null || config.REDIS_URL === undefined) {
    return new StreamRegistry(limits);
  }
  const url = config.REDIS_URL;
  return new RedisStreamRegistry({
    redis,
    connectReader: () =>
      connectRedis(url, {
        name: 'ragedge-stream-reader',
        commandTimeoutMs: READER_BLOCK_MS + 2_000,
        onError: () => {},
      }),
    keyPrefix: config.REDIS_KEY_PREFIX,
    limits,
    leaseMs: config.CHAT_STREAM_LEASE_MS,
    // An orphan's keys outlive the longest answer the LLM timeout allows, then go.
    runningTtlMs: Math.max(config.LLM_TIMEOUT_MS * 2, config.CHAT_RESUME_WINDOW_MS),
    maxReaders: config.CHAT_MAX_SHARED_READERS,
    blockMs: READER_BLOCK_MS,
    onError: (error, operation) =>
      logger.warn({ err: error, operation }, 'shared chat streams: redis call failed'),
    onTakeover: (streamId) => logger.info({ streamId }, 'took over an answer whose origin stopped'),
  });
}
