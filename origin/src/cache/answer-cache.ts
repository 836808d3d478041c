import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ReaderSource } from '../../../contract/stream.js';

/** An answer as the chat route streamed it, kept to replay for the same or a similar question. */
export interface CachedAnswer {
  answer: string;
  /** The `sources` event's sources, replayed as they were sent. */
  sources: ReaderSource[];
  cited: number[];
  createdAt: number;
}

/**
 * Cache of chat answers per site and content version. The origin bumps a site's
 * `contentVersion` on every document change, and every key carries it, so a change makes all
 * the site's cached answers miss at once; the old entries age out by TTL or LRU.
 */
export interface AnswerCache {
  /** Exact tier: normalized question (lowercase, collapsed whitespace, trailing punctuation dropped). */
  getExact(siteId: number, contentVersion: number, question: string): Promise<CachedAnswer | null>;
  /** Semantic tier: best cached question of this site+version whose embedding's cosine similarity ≥ threshold. */
  getSimilar(
    siteId: number,
    contentVersion: number,
    embedding: Float32Array,
    threshold: number,
  ): Promise<{ answer: CachedAnswer; similarity: number } | null>;
  put(
    siteId: number,
    contentVersion: number,
    question: string,
    embedding: Float32Array,
    answer: CachedAnswer,
  ): Promise<void>;
  readonly kind: 'redis' | 'memory';
}

/** Bounds shared by both implementations. */
export interface AnswerCacheLimits {
  /** Lifetime of an entry, in seconds. Default 3600. */
  ttlSeconds?: number;
  /** Questions kept per site and version in the semantic tier; the oldest go first. Default 500. */
  maxQuestionsPerSite?: number;
  /** An answer whose JSON is larger than this many bytes is not cached. Default 64 KiB. */
  maxAnswerBytes?: number;
}

export const DEFAULT_LIMITS: Required<AnswerCacheLimits> = {
  ttlSeconds: 3600,
  maxQuestionsPerSite: 500,
  maxAnswerBytes: 64 * 1024,
};

/** How many of the best semantic matches are tried when the best one's answer has expired. */
export const SEMANTIC_CANDIDATES = 3;

export const cachedAnswerSchema = z.object({
  answer: z.string(),
  // An entry of another shape (written by an older version) is a miss, never a bad event.
  sources: z.array(ReaderSource),
  cited: z.array(z.number()),
  createdAt: z.number(),
});

/** Lowercases, collapses whitespace and drops trailing punctuation: "What is X ?" → "what is x". */
export function normalizeQuestion(question: string): string {
  return question
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .replace(/[\s\p{P}]+$/u, '')
    .trim();
}

/** A short fixed-length id of a normalized question, so keys stay small whatever was asked. */
export function questionId(normalized: string): string {
  return createHash('sha256').update(normalized).digest('base64url').slice(0, 22);
}

/** Cosine similarity; 0 when the lengths differ or either vector is zero. */
export function cosineSimilarity(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length || a.length === 0) return 0;
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    dot += x * y;
    normA += x * x;
    normB += y * y;
  }
  return normA === 0 || normB === 0 ? 0 : dot / Math.sqrt(normA * normB);
}

/** The cached questions at or above `threshold`, best first, at most `limit`. */
export function rankSimilar<T extends { embedding: Float32Array }>(
  entries: Iterable<T>,
  embedding: Float32Array,
  threshold: number,
  limit = SEMANTIC_CANDIDATES,
): Array<{ entry: T; similarity: number }> {
  const hits: Array<{ entry: T; similarity: number }> = [];
  for (const entry of entries) {
    const similarity = cosineSimilarity(entry.embedding, embedding);
    if (similarity >= threshold) hits.push({ entry, similarity });
  }
  return hits.sort((x, y) => y.similarity - x.similarity).slice(0, limit);
}

/** The answer as JSON, or null when it is larger than `maxBytes` and must not be cached. */
export function serializeAnswer(answer: CachedAnswer, maxBytes: number): string | null {
  const json = JSON.stringify(answer);
  return Buffer.byteLength(json, 'utf8') > maxBytes ? null : json;
}
