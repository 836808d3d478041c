import { describe, expect, it } from 'vitest';
import type { Env } from './env.js';
import { clientBudgetKey, limiterFor } from './rate-limit.js';

const limiter = (name: string) => ({ name }) as unknown as RateLimit;
const env = {
  CHAT_LIMITER: limiter('chat'),
  SEARCH_LIMITER: limiter('search'),
  API_LIMITER: limiter('api'),
} as unknown as Env;

describe('limiterFor', () => {
  it('counts chat and search apart from the rest, also when the path is percent-encoded', () => {
    expect(limiterFor(env, '/api/v1/sites/docs/chat')).toBe(env.CHAT_LIMITER);
    expect(limiterFor(env, '/api/v1/sites/docs/%63hat')).toBe(env.CHAT_LIMITER);
    expect(limiterFor(env, '/api/v1/sites/docs/search')).toBe(env.SEARCH_LIMITER);
    expect(limiterFor(env, '/api/v1/sites/docs/config')).toBe(env.API_LIMITER);
    expect(limiterFor(env, '/api/v1/sites/docs/%E0%A4%A')).toBe(env.API_LIMITER);
  });
});

describe('clientBudgetKey', () => {
  it('keys an IPv4 client by its address and an IPv6 client by its /64', () => {
    expect(clientBudgetKey('203.0.113.9')).toBe('203.0.113.9');
    expect(clientBudgetKey('2001:db8:1:2:aaaa::1')).toBe(clientBudgetKey('2001:db8:1:2:bbbb::9'));
    expect(clientBudgetKey('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(clientBudgetKey('2001:db8:1:3::1')).not.toBe(clientBudgetKey('2001:db8:1:2::1'));
  });

  it('bounds a value that is no address', () => {
    expect(clientBudgetKey('x'.repeat(500))).toBe(`raw:${'x'.repeat(64)}`);
  });
});
