import type { Redis } from 'ioredis';
import { ExtractiveGenerator } from '../answer/extractive.js';
import { OpenAICompatibleGenerator } from '../answer/openai-compatible.js';
import type { AnswerGenerator } from '../answer/types.js';
import type { AnswerCache } from '../cache/answer-cache.js';
import { MemoryAnswerCache } from '../cache/memory-answer-cache.js';
import { RedisAnswerCache } from '../cache/redis-answer-cache.js';
import { StreamRegistry } from '../chat/stream-registry.js';
import { ChatService, type ChatTurnDeps } from '../chat/turn.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { instrumentAnswerCache } from '../observability/instrument.js';
import type { Metrics } from '../observability/metrics.js';
import type { Services } from '../services.js';

/** The configuration the answer generator takes. */
export type GeneratorConfig = Pick<
  Config,
  'LLM_BASE_URL' | 'LLM_API_KEY' | 'LLM_MODEL' | 'LLM_TIMEOUT_MS' | 'LLM_MAX_TOKENS'
>;

/** An OpenAI-compatible LLM when `LLM_BASE_URL` is set, the extractive answerer otherwise. */
export function buildGenerator(config: GeneratorConfig, logger: Logger): AnswerGenerator {
  const generator: AnswerGenerator =
    config.LLM_BASE_URL === undefined
      ? new ExtractiveGenerator()
      : new OpenAICompatibleGenerator({
          baseUrl: config.LLM_BASE_URL,
          apiKey: config.LLM_API_KEY ?? 'none',
          model: config.LLM_MODEL,
          timeoutMs: config.LLM_TIMEOUT_MS,
          maxTokens: config.LLM_MAX_TOKENS,
          temperature: 0.2,
        });
  logger.info({ generator: generator.id }, 'answers ready');
  return generator;
}

/** The configuration the answer cache takes. */
export type AnswerCacheConfig = Pick<Config, 'CACHE_TTL_SECONDS' | 'REDIS_KEY_PREFIX'>;

/** The answer cache, in Redis when one is configured, in process otherwise; instrumented. */
export function buildAnswerCache(
  config: AnswerCacheConfig,
  deps: { redis: Redis | null; logger: Logger; metrics: Metrics },
): AnswerCache {
  const { redis, logger } = deps;
  const cache: AnswerCache =
    redis === null
      ? new MemoryAnswerCache({ ttlSeconds: config.CACHE_TTL_SECONDS })
      : new RedisAnswerCache(redis, {
          keyPrefix: `${config.REDIS_KEY_PREFIX}cache:`,
          ttlSeconds: config.CACHE_TTL_SECONDS,
          onError: (error: unknown, operation: string) =>
            logger.warn({ err: error, operation }, 'answer cache unavailable; serving without it'),
        });
  return instrumentAnswerCache(cache, deps.metrics);
}

/** The configuration chat takes (besides its generator's and cache's). */
export type ChatConfig = Pick<
  Config,
  | 'CHAT_MAX_STREAMS'
  | 'CHAT_MAX_RETAINED_STREAMS'
  | 'CHAT_RESUME_WINDOW_MS'
  | 'CHAT_DETACH_GRACE_MS'
  | 'CHAT_PING_MS'
  | 'CHAT_SOURCES'
  | 'CHAT_HISTORY_TURNS'
  | 'CACHE_SIMILARITY'
>;

/** The registry of running answer streams, and the chat service that feeds them. */
export function buildChat(
  config: ChatConfig,
  deps: Omit<ChatTurnDeps, 'settings'>,
): Services['chat'] {
  return {
    registry: new StreamRegistry({
      maxStreams: config.CHAT_MAX_STREAMS,
      maxRetained: config.CHAT_MAX_RETAINED_STREAMS,
      maxEventsPerStream: 20_000,
      retentionMs: config.CHAT_RESUME_WINDOW_MS,
      detachGraceMs: config.CHAT_DETACH_GRACE_MS,
    }),
    pingMs: config.CHAT_PING_MS,
    service: new ChatService({
      ...deps,
      settings: {
        sources: config.CHAT_SOURCES,
        historyTurns: config.CHAT_HISTORY_TURNS,
        historyChars: 1_000,
        cacheSimilarity: config.CACHE_SIMILARITY,
      },
    }),
  };
}
