import type { RateLimiter } from './rate-limiter.js';

/** Test helper: fires `count` chat consumes on `key` at once; returns how many were allowed. */
export async function burst(limiter: RateLimiter, key: string, count: number) {
  const decisions = await Promise.all(
    Array.from({ length: count }, () => limiter.consume('chat', key)),
  );
  return { allowed: decisions.filter((d) => d.allowed).length, decisions };
}
