import { beforeEach, expect, it } from 'vitest';
import type { AnswerCache, CachedAnswer } from './answer-cache.js';

/** Behaviour every `AnswerCache` must have; run by each implementation's test file. */
export function answerCacheContract(
  make: (limits: { maxQuestionsPerSite: number }) => AnswerCache,
) {
  let cache: AnswerCache;
  beforeEach(() => {
    cache = make({ maxQuestionsPerSite: 3 });
  });

  it('finds an answer again by the same question asked with other case, spaces and punctuation', async () => {
    await cache.put(1, 7, 'What is the refund policy?', vec(1, 0), answer('30 days'));
    expect((await cache.getExact(1, 7, '  what IS the   refund policy ?! '))?.answer).toBe(
      '30 days',
    );
    expect(await cache.getExact(1, 7, 'What is the shipping policy?')).toBeNull();
  });

  it('misses every answer of a site once its content version changes', async () => {
    await cache.put(1, 7, 'refunds', vec(1, 0), answer('30 days'));
    expect(await cache.getExact(1, 8, 'refunds')).toBeNull();
    expect(await cache.getSimilar(1, 8, vec(1, 0), 0.9)).toBeNull();
  });

  it('keeps sites apart', async () => {
    await cache.put(1, 7, 'refunds', vec(1, 0), answer('site one'));
    expect(await cache.getExact(2, 7, 'refunds')).toBeNull();
    expect(await cache.getSimilar(2, 7, vec(1, 0), 0.5)).toBeNull();
  });

  it('returns the most similar cached answer at or above the threshold', async () => {
    await cache.put(1, 7, 'refunds', vec(1, 0), answer('refund answer'));
    await cache.put(1, 7, 'shipping', vec(0, 1), answer('shipping answer'));
    const hit = await cache.getSimilar(1, 7, vec(0.9, 0.1), 0.9);
    expect(hit?.answer.answer).toBe('refund answer');
    expect(hit?.similarity).toBeGreaterThan(0.99);
    expect(await cache.getSimilar(1, 7, vec(1, 1), 0.9)).toBeNull();
  });

  it('keeps at most the configured number of questions per site, dropping the oldest', async () => {
    for (let i = 0; i < 4; i++) {
      await cache.put(1, 7, `question ${i}`, unit(i), answer(`answer ${i}`));
    }
    expect(await cache.getSimilar(1, 7, unit(0), 0.99)).toBeNull();
    expect((await cache.getSimilar(1, 7, unit(3), 0.99))?.answer.answer).toBe('answer 3');
  });

  it('does not cache an answer larger than the size cap', async () => {
    await cache.put(1, 7, 'huge', vec(1, 0), answer('x'.repeat(70 * 1024)));
    expect(await cache.getExact(1, 7, 'huge')).toBeNull();
    expect(await cache.getSimilar(1, 7, vec(1, 0), 0.5)).toBeNull();
  });

  it('returns the answer with its sources and citations intact', async () => {
    const stored: CachedAnswer = {
      answer: 'See [1].',
      sources: [
        {
          n: 1,
          documentId: '3',
          title: 'A',
          headingPath: ['Intro'],
          snippet: 'About A.',
          source: 'a.md',
          url: 'https://example.com/a',
        },
      ],
      cited: [1],
      createdAt: 1_700_000_000_000,
    };
    await cache.put(1, 7, 'q', vec(1, 0), stored);
    expect(await cache.getExact(1, 7, 'q')).toEqual(stored);
  });
}

export function answer(text: string): CachedAnswer {
  return { answer: text, sources: [], cited: [], createdAt: Date.now() };
}

export function vec(...values: number[]): Float32Array {
  return new Float32Array(values);
}

/** The i-th unit vector of 8 dimensions. */
export function unit(i: number): Float32Array {
  const v = new Float32Array(8);
  v[i] = 1;
  return v;
}
