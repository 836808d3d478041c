import { LRUCache } from 'lru-cache';
import {
  type AnswerCache,
  type AnswerCacheLimits,
  type CachedAnswer,
  cachedAnswerSchema,
  DEFAULT_LIMITS,
  normalizeQuestion,
  rankSimilar,
  serializeAnswer,
} from './answer-cache.js';

/** Options of {@link MemoryAnswerCache}: the shared limits plus the process-wide bounds. */
export interface MemoryAnswerCacheOptions extends AnswerCacheLimits {
  /** Answers kept across all sites. Default 2000. */
  maxAnswers?: number;
  /** Bytes of answer JSON kept across all sites. Default 32 MiB. */
  maxAnswerBytesTotal?: number;
  /** Bytes of questions and embeddings kept across all sites. Default 32 MiB. */
  maxEmbeddingBytesTotal?: number;
}

interface QuestionEntry {
  question: string;
  embedding: Float32Array;
}

/**
 * The in-process answer cache, for a single origin without Redis: two `lru-cache`s bounded by
 * entry count, bytes and TTL. Answers are stored as JSON so a caller mutating what it got back
 * cannot change the cache.
 */
export class MemoryAnswerCache implements AnswerCache {
  readonly kind = 'memory' as const;
  private readonly limits: Required<AnswerCacheLimits>;
  /** `site:version:normalized question` → answer JSON. */
  private readonly answers: LRUCache<string, string>;
  /** `site:version` → the site's questions, oldest first. Replaced, never mutated, on put. */
  private readonly questions: LRUCache<string, readonly QuestionEntry[]>;

  constructor(options: MemoryAnswerCacheOptions = {}) {
    this.limits = {
      ttlSeconds: options.ttlSeconds ?? DEFAULT_LIMITS.ttlSeconds,
      maxQuestionsPerSite: options.maxQuestionsPerSite ?? DEFAULT_LIMITS.maxQuestionsPerSite,
      maxAnswerBytes: options.maxAnswerBytes ?? DEFAULT_LIMITS.maxAnswerBytes,
    };
    const ttl = this.limits.ttlSeconds * 1000;
    this.answers = new LRUCache({
      max: options.maxAnswers ?? 2000,
      maxSize: options.maxAnswerBytesTotal ?? 32 * 1024 * 1024,
      sizeCalculation: (json) => json.length * 2,
      ttl,
    });
    this.questions = new LRUCache({
      max: 10_000,
      maxSize: options.maxEmbeddingBytesTotal ?? 32 * 1024 * 1024,
      sizeCalculation: (entries) =>
        Math.max(
          1,
          entries.reduce((n, e) => n + e.embedding.byteLength + e.question.length * 2, 0),
        ),
      ttl,
    });
  }

  async getExact(
    siteId: number,
    contentVersion: number,
    question: string,
  ): Promise<CachedAnswer | null> {
    return this.readAnswer(siteId, contentVersion, normalizeQuestion(question));
  }

  async getSimilar(
    siteId: number,
    contentVersion: number,
    embedding: Float32Array,
    threshold: number,
  ): Promise<{ answer: CachedAnswer; similarity: number } | null> {
    const entries = this.questions.get(`${siteId}:${contentVersion}`) ?? [];
    for (const { entry, similarity } of rankSimilar(entries, embedding, threshold)) {
      const answer = this.readAnswer(siteId, contentVersion, entry.question);
      if (answer) return { answer, similarity };
    }
    return null;
  }

  async put(
    siteId: number,
    contentVersion: number,
    question: string,
    embedding: Float32Array,
    answer: CachedAnswer,
  ): Promise<void> {
    const json = serializeAnswer(answer, this.limits.maxAnswerBytes);
    if (json === null) return;
    const normalized = normalizeQuestion(question);
    this.answers.set(`${siteId}:${contentVersion}:${normalized}`, json);

    const siteKey = `${siteId}:${contentVersion}`;
    const others = (this.questions.get(siteKey) ?? []).filter((e) => e.question !== normalized);
    const kept = others.slice(Math.max(0, others.length - this.limits.maxQuestionsPerSite + 1));
    this.questions.set(siteKey, [...kept, { question: normalized, embedding: embedding.slice() }]);
  }

  private readAnswer(siteId: number, contentVersion: number, normalized: string) {
    const json = this.answers.get(`${siteId}:${contentVersion}:${normalized}`);
    return json === undefined ? null : cachedAnswerSchema.parse(JSON.parse(json));
  }
}
