import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { RedisStreamRegistry } from './redis-stream-registry.js';
import { createChatStreams } from './select-streams.js';
import { StreamRegistry } from './stream-registry.js';

const logger = createLogger('silent');

describe('createChatStreams', () => {
  it('keeps answers in process by default, even with a Redis for the cache', () => {
    const config = loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' });
    expect(createChatStreams(config, {} as Redis, logger)).toBeInstanceOf(StreamRegistry);
  });

  it('shares them through Redis when CHAT_STREAMS=redis', () => {
    const config = loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', CHAT_STREAMS: 'redis' });
    const streams = createChatStreams(config, {} as Redis, logger);
    expect(streams).toBeInstanceOf(RedisStreamRegistry);
    expect(streams.shared).toBe(true);
  });

  it('refuses to boot with CHAT_STREAMS=redis and no REDIS_URL, naming the variable', () => {
    expect(() => loadConfig({ CHAT_STREAMS: 'redis' })).toThrow(
      /CHAT_STREAMS: is redis, which needs REDIS_URL/,
    );
    expect(() => loadConfig({ CHAT_STREAMS: 'kafka' })).toThrow(/CHAT_STREAMS/);
  });
});
