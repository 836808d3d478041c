import { describe, expect, it } from 'vitest';
import { answer, answerCacheContract, vec } from './answer-cache.contract.js';
import { MemoryAnswerCache } from './memory-answer-cache.js';

describe('MemoryAnswerCache', () => {
  answerCacheContract((limits) => new MemoryAnswerCache(limits));

  it('forgets answers after the TTL', async () => {
    const cache = new MemoryAnswerCache({ ttlSeconds: 1 });
    await cache.put(1, 1, 'q', vec(1, 0), answer('a'));
    expect(await cache.getExact(1, 1, 'q')).not.toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await cache.getExact(1, 1, 'q')).toBeNull();
    expect(await cache.getSimilar(1, 1, vec(1, 0), 0.5)).toBeNull();
  });

  it('keeps at most maxAnswers answers across sites', async () => {
    const cache = new MemoryAnswerCache({ maxAnswers: 2 });
    for (const site of [1, 2, 3]) await cache.put(site, 1, 'q', vec(1, 0), answer(`${site}`));
    expect(await cache.getExact(1, 1, 'q')).toBeNull();
    expect((await cache.getExact(3, 1, 'q'))?.answer).toBe('3');
  });

  it('is not changed by a caller mutating what it put or got', async () => {
    const cache = new MemoryAnswerCache();
    const stored = answer('a');
    const embedding = vec(1, 0);
    await cache.put(1, 1, 'q', embedding, stored);
    stored.answer = 'changed';
    embedding[0] = 0;
    const got = await cache.getExact(1, 1, 'q');
    got!.cited.push(9);
    expect(await cache.getExact(1, 1, 'q')).toMatchObject({ answer: 'a', cited: [] });
    expect(await cache.getSimilar(1, 1, vec(1, 0), 0.99)).not.toBeNull();
  });
});
