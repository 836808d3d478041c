import type { Redis } from 'ioredis';
import { z } from 'zod';
import {
  type AnswerCache,
  type AnswerCacheLimits,
  type CachedAnswer,
  cachedAnswerSchema,
  DEFAULT_LIMITS,
  normalizeQuestion,
  questionId,
  rankSimilar,
  serializeAnswer,
} from './answer-cache.js';

/** Options of {@link RedisAnswerCache}. */
export interface RedisAnswerCacheOptions extends AnswerCacheLimits {
  /** Prefix of every key, e.g. `ragedge:cache:`. */
  keyPrefix: string;
  /** Called with every Redis error; the call that hit it returns a miss or does nothing. */
  onError?: (err: unknown, operation: 'getExact' | 'getSimilar' | 'put') => void;
}

const questionEntrySchema = z.object({ q: z.string(), e: z.string() });

/**
 * The answer cache on Redis, shared by every origin process. Meant for the cache Redis
 * (`maxmemory-policy allkeys-lru`): losing an entry only costs a miss.
 *
 * Keys, all expiring after `ttlSeconds`:
 * - `<prefix>ans:<site>:<version>:<question id>` — the answer JSON (exact tier);
 * - `<prefix>q:<site>:<version>` — a list, newest first, of `{ q, e }`: the normalized question
 *   and its embedding as base64 little-endian float32, trimmed to `maxQuestionsPerSite`.
 *
 * The semantic tier reads the whole list and scans it in process: at ≤ 500 questions of 384–1024
 * dimensions that is one round trip of ≤ 2 MB and well under a millisecond of arithmetic, so no
 * vector index is needed. A question put twice with different embeddings takes two list slots.
 *
 * Redis errors never reach the caller: they are passed to `onError`, `healthy` turns false until
 * the next call that succeeds, and the call returns a miss.
 */
export class RedisAnswerCache implements AnswerCache {
  readonly kind = 'redis' as const;
  private readonly limits: Required<AnswerCacheLimits>;
  private ok = true;

  constructor(
    private readonly redis: Redis,
    private readonly options: RedisAnswerCacheOptions,
  ) {
    this.limits = {
      ttlSeconds: options.ttlSeconds ?? DEFAULT_LIMITS.ttlSeconds,
      maxQuestionsPerSite: options.maxQuestionsPerSite ?? DEFAULT_LIMITS.maxQuestionsPerSite,
      maxAnswerBytes: options.maxAnswerBytes ?? DEFAULT_LIMITS.maxAnswerBytes,
    };
  }

  /** False after a Redis error, until a call succeeds again. */
  get healthy(): boolean {
    return this.ok;
  }

  getExact(siteId: number, contentVersion: number, question: string) {
    return this.guard('getExact', null, async () => {
      const key = this.answerKey(siteId, contentVersion, normalizeQuestion(question));
      return parseAnswer(await this.redis.get(key));
    });
  }

  getSimilar(siteId: number, contentVersion: number, embedding: Float32Array, threshold: number) {
    return this.guard('getSimilar', null, async () => {
      const raw = await this.redis.lrange(this.questionsKey(siteId, contentVersion), 0, -1);
      const candidates = rankSimilar(raw.flatMap(decodeEntry), embedding, threshold);
      if (candidates.length === 0) return null;
      const keys = candidates.map((c) => this.answerKey(siteId, contentVersion, c.entry.question));
      const answers = await this.redis.mget(...keys);
      for (const [i, json] of answers.entries()) {
        const answer = parseAnswer(json);
        if (answer) return { answer, similarity: candidates[i]!.similarity };
      }
      return null;
    });
  }

  put(
    siteId: number,
    contentVersion: number,
    question: string,
    embedding: Float32Array,
    answer: CachedAnswer,
  ) {
    return this.guard('put', undefined, async () => {
      const json = serializeAnswer(answer, this.limits.maxAnswerBytes);
      if (json === null) return;
      const normalized = normalizeQuestion(question);
      const entry = JSON.stringify({ q: normalized, e: encodeEmbedding(embedding) });
      const listKey = this.questionsKey(siteId, contentVersion);
      const { ttlSeconds, maxQuestionsPerSite } = this.limits;
      const results = await this.redis
        .multi()
        .set(this.answerKey(siteId, contentVersion, normalized), json, 'EX', ttlSeconds)
        .lrem(listKey, 0, entry)
        .lpush(listKey, entry)
        .ltrim(listKey, 0, maxQuestionsPerSite - 1)
        .expire(listKey, ttlSeconds)
        .exec();
      // A command failing inside MULTI (e.g. OOM) is reported in the results, not thrown.
      const failed = results?.find(([err]) => err !== null);
      if (failed) throw failed[0];
    });
  }

  private answerKey(siteId: number, contentVersion: number, normalized: string): string {
    return `${this.options.keyPrefix}ans:${siteId}:${contentVersion}:${questionId(normalized)}`;
  }

  private questionsKey(siteId: number, contentVersion: number): string {
    return `${this.options.keyPrefix}q:${siteId}:${contentVersion}`;
  }

  private async guard<T>(
    operation: 'getExact' | 'getSimilar' | 'put',
    onFailure: T,
    run: () => Promise<T>,
  ): Promise<T> {
    try {
      const result = await run();
      this.ok = true;
      return result;
    } catch (err) {
      this.ok = false;
      this.options.onError?.(err, operation);
      return onFailure;
    }
  }
}

function parseAnswer(json: string | null): CachedAnswer | null {
  if (json === null) return null;
  const parsed = cachedAnswerSchema.safeParse(parseJson(json));
  return parsed.success ? parsed.data : null;
}

/** Base64 of the raw float32 bytes (little-endian, as on every host we run on). */
export function encodeEmbedding(embedding: Float32Array): string {
  return Buffer.from(embedding.buffer, embedding.byteOffset, embedding.byteLength).toString(
    'base64',
  );
}

export function decodeEmbedding(base64: string): Float32Array {
  const bytes = Buffer.from(base64, 'base64');
  const copy = new Uint8Array(bytes.byteLength - (bytes.byteLength % 4));
  copy.set(bytes.subarray(0, copy.byteLength));
  return new Float32Array(copy.buffer);
}

function decodeEntry(raw: string): Array<{ question: string; embedding: Float32Array }> {
  const parsed = questionEntrySchema.safeParse(parseJson(raw));
  return parsed.success
    ? [{ question: parsed.data.q, embedding: decodeEmbedding(parsed.data.e) }]
    : [];
}

/** A corrupt value is a miss, not an error. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
