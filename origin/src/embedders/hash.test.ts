import { describe, expect, it } from 'vitest';
import { HashEmbedder, stem } from './hash.js';

function norm(vector: Float32Array): number {
  return Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0));
}

function cosine(a: Float32Array, b: Float32Array): number {
  return a.reduce((sum, value, i) => sum + value * b[i]!, 0);
}

async function embedOne(embedder: HashEmbedder, text: string): Promise<Float32Array> {
  const [vector] = await embedder.embed([text]);
  return vector!;
}

describe('HashEmbedder', () => {
  const embedder = new HashEmbedder();

  it('is hash-v1 with 384 dimensions and batches of 256', () => {
    expect(embedder.id).toBe('hash-v1');
    expect(embedder.dimension).toBe(384);
    expect(embedder.maxBatchSize).toBe(256);
  });

  it('returns normalized vectors of its dimension, one per text in order', async () => {
    const texts = ['install the server', 'Bake bread at 220 °C.', 'Ünïcödé wörds, 東京タワー'];
    const vectors = await embedder.embed(texts);
    expect(vectors).toHaveLength(3);
    for (const [i, vector] of vectors.entries()) {
      expect(vector).toBeInstanceOf(Float32Array);
      expect(vector).toHaveLength(384);
      expect(norm(vector)).toBeCloseTo(1, 5);
      expect(vector).toEqual(await embedOne(embedder, texts[i]!));
    }
  });

  it('is deterministic across instances', async () => {
    const text = 'The origin answers questions about your documents.';
    expect(await embedOne(new HashEmbedder(), text)).toEqual(await embedOne(embedder, text));
  });

  it('ignores case, and compatibility forms of characters', async () => {
    expect(await embedOne(embedder, 'INSTALL THE SERVER')).toEqual(
      await embedOne(embedder, 'install the server'),
    );
    // NFKC: the "ﬁ" ligature and full-width letters fold to plain ones.
    expect(await embedOne(embedder, 'ﬁle ｓｅｒｖｅｒ')).toEqual(
      await embedOne(embedder, 'file server'),
    );
  });

  it('places related texts closer than unrelated ones', async () => {
    const query = await embedOne(embedder, 'installing the server');
    const related = await embedOne(embedder, 'install servers');
    const unrelated = await embedOne(embedder, 'a recipe for sourdough bread');
    expect(cosine(query, related)).toBeGreaterThan(0.5);
    expect(cosine(query, related)).toBeGreaterThan(cosine(query, unrelated) + 0.3);
  });

  it('lets content words, not function words, decide what is related', async () => {
    const query = await embedOne(embedder, 'how do I back up the database');
    const related = await embedOne(embedder, 'database backups');
    const unrelated = await embedOne(embedder, 'the cat sat on the mat');
    expect(cosine(query, related)).toBeGreaterThan(cosine(query, unrelated) + 0.2);
  });

  it('shares spelling through character trigrams when stems differ', async () => {
    const query = await embedOne(embedder, 'configuration');
    const related = await embedOne(embedder, 'configure');
    const unrelated = await embedOne(embedder, 'bread');
    expect(cosine(query, related)).toBeGreaterThan(cosine(query, unrelated) + 0.1);
  });

  it('takes word order into account through bigrams', async () => {
    const a = await embedOne(embedder, 'server install');
    const b = await embedOne(embedder, 'install server');
    expect(cosine(a, b)).toBeLessThan(0.99);
    expect(cosine(a, b)).toBeGreaterThan(0.7);
  });

  it('honours the dimension option', async () => {
    const small = new HashEmbedder({ dimension: 64 });
    const vector = await embedOne(small, 'install the server');
    expect(small.dimension).toBe(64);
    expect(vector).toHaveLength(64);
    expect(norm(vector)).toBeCloseTo(1, 5);
    expect(() => new HashEmbedder({ dimension: 0 })).toThrow(RangeError);
    expect(() => new HashEmbedder({ dimension: 1.5 })).toThrow(RangeError);
  });

  it('embeds a text without words to the unit vector on dimension 0', async () => {
    for (const text of ['', '   ', '?!…']) {
      const vector = await embedOne(embedder, text);
      expect(vector[0]).toBe(1);
      expect(norm(vector)).toBe(1);
    }
  });

  it('rejects a batch over maxBatchSize', async () => {
    await expect(embedder.embed(Array.from({ length: 257 }, () => 'x'))).rejects.toThrow(
      'exceeds maxBatchSize 256',
    );
  });
});

describe('stem', () => {
  it.each([
    ['servers', 'server'],
    ['policies', 'policy'],
    ['classes', 'class'],
    ['indexes', 'index'],
    ['databases', 'database'],
    ['installing', 'install'],
    ['running', 'run'],
    ['deployed', 'deploy'],
    ['embedded', 'embed'],
    ['quickly', 'quick'],
  ])('strips %s to %s', (word, expected) => {
    expect(stem(word)).toBe(expected);
  });

  it.each([
    'status',
    'analysis',
    'class',
    'string',
    'thing',
    'used',
    'only',
    'family',
    'café',
    'bus',
  ])('keeps %s', (word) => {
    expect(stem(word)).toBe(word);
  });
});
