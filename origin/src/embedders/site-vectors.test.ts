import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import { assertSiteEmbedder, embeddingText } from './site-vectors.js';

describe('embeddingText', () => {
  it('puts the context line, a blank line, then the content', () => {
    expect(embeddingText({ context: 'Guide › Install', content: 'Run npm ci.' })).toBe(
      'Guide › Install\n\nRun npm ci.',
    );
  });

  it('keeps an empty context as a leading blank line (the vectors depend on every character)', () => {
    expect(embeddingText({ context: '', content: 'x' })).toBe('\n\nx');
  });
});

describe('assertSiteEmbedder', () => {
  const embedder = { id: 'hash-v1', dimension: 256 };

  it('accepts a site not indexed yet, and one indexed by the same embedder', () => {
    expect(() =>
      assertSiteEmbedder({ name: 'a', embedder: null, embeddingDim: null }, embedder),
    ).not.toThrow();
    expect(() =>
      assertSiteEmbedder({ name: 'a', embedder: 'hash-v1', embeddingDim: 256 }, embedder),
    ).not.toThrow();
  });

  it('refuses another embedder or another dimension, naming both and the reindex command', () => {
    for (const site of [
      { name: 'docs', embedder: 'minilm', embeddingDim: 384 },
      { name: 'docs', embedder: 'hash-v1', embeddingDim: 128 },
    ]) {
      let caught: unknown;
      try {
        assertSiteEmbedder(site, embedder);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(AppError);
      expect((caught as AppError).code).toBe('embedder_mismatch');
      expect((caught as AppError).message).toContain(`indexed with ${site.embedder}`);
      expect((caught as AppError).message).toContain('npm run rag -- reindex --site docs');
    }
  });
});
