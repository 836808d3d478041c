import { describe, expect, it } from 'vitest';
import { createRateLimiter, type LimitBudget } from './rate-limiter.js';
import { burst } from './testing.js';

const budgets: Record<'chat' | 'search' | 'resume' | 'other', LimitBudget> = {
  chat: { points: 5, durationSeconds: 60 },
  search: { points: 20, durationSeconds: 60 },
  resume: { points: 10, durationSeconds: 60 },
  other: { points: 100, durationSeconds: 60 },
};

describe('createRateLimiter without Redis', () => {
  it('allows exactly the budget of a burst of ten times the budget', async () => {
    const limiter = createRateLimiter({ budgets, keyPrefix: 'rl' });
    expect(limiter.kind).toBe('memory');
    const { allowed, decisions } = await burst(limiter, 'site:1', 50);
    expect(allowed).toBe(5);
    const refused = decisions.filter((d) => !d.allowed);
    expect(refused.every((d) => d.remaining === 0)).toBe(true);
    expect(refused.every((d) => d.retryAfterSeconds >= 1 && d.retryAfterSeconds <= 60)).toBe(true);
  });

  it('counts down the remaining points of allowed requests', async () => {
    const limiter = createRateLimiter({ budgets, keyPrefix: 'rl' });
    expect(await limiter.consume('chat', 'ip:1')).toEqual({
      allowed: true,
      remaining: 4,
      retryAfterSeconds: 0,
    });
  });

  it('keeps keys and buckets apart', async () => {
    const limiter = createRateLimiter({ budgets, keyPrefix: 'rl' });
    await burst(limiter, 'site:1', 10);
    expect((await limiter.consume('chat', 'site:2')).allowed).toBe(true);
    expect((await limiter.consume('search', 'site:1')).allowed).toBe(true);
  });

  it('refuses a budget that is not a positive integer', () => {
    expect(() =>
      createRateLimiter({
        budgets: { ...budgets, search: { points: 0, durationSeconds: 60 } },
        keyPrefix: 'rl',
      }),
    ).toThrow(/search/);
  });
});
