import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import { type Chunk, chunkBlocks } from './chunk.js';
import type { Block } from './parse.js';
import { countTokens } from './tokens.js';

const h = (level: number, text: string): Block => ({ kind: 'heading', level, text });
const p = (text: string): Block => ({ kind: 'text', text });
const code = (text: string): Block => ({ kind: 'code', text });

/** `n` distinct sentences of 6 tokens each ("Sentence number 7 talks about x."). */
const sentences = (n: number, topic = 'x') =>
  Array.from({ length: n }, (_, i) => `Sentence number ${i} talks about ${topic}.`).join(' ');

function expectWellFormed(chunks: Chunk[], maxTokens: number): void {
  chunks.forEach((chunk, i) => {
    expect(chunk.position).toBe(i);
    expect(chunk.tokenCount).toBe(countTokens(chunk.text));
    expect(chunk.tokenCount).toBeLessThanOrEqual(maxTokens);
    expect(chunk.text.trim()).not.toBe('');
  });
}

describe('chunkBlocks', () => {
  it('returns no chunks for no blocks', () => {
    expect(chunkBlocks([], { maxTokens: 64, overlapTokens: 8 })).toEqual([]);
  });

  it('packs the paragraphs of a section greedily, joined by blank lines', () => {
    const chunks = chunkBlocks([p('One two.'), p('Three four.')], {
      maxTokens: 64,
      overlapTokens: 0,
    });
    expect(chunks).toEqual([
      { text: 'One two.\n\nThree four.', position: 0, headingPath: [], tokenCount: 6 },
    ]);
  });

  it('keeps the heading path as a stack by level, without repeating it in the text', () => {
    const blocks = [
      h(1, 'Guide'),
      p('a.'),
      h(3, 'Deep'),
      p('b.'),
      h(2, 'Setup'),
      p('c.'),
      h(1, 'Other'),
      p('d.'),
    ];
    const chunks = chunkBlocks(blocks, { maxTokens: 64, overlapTokens: 8 });
    expect(chunks.map((c) => [c.headingPath, c.text])).toEqual([
      [['Guide'], 'a.'],
      [['Guide', 'Deep'], 'b.'],
      [['Guide', 'Setup'], 'c.'],
      [['Other'], 'd.'],
    ]);
  });

  it('makes no chunk for a heading followed directly by another heading', () => {
    const chunks = chunkBlocks([h(1, 'Empty'), h(2, 'Full'), p('text.')], {
      maxTokens: 32,
      overlapTokens: 0,
    });
    expect(chunks).toEqual([
      { text: 'text.', position: 0, headingPath: ['Empty', 'Full'], tokenCount: 2 },
    ]);
  });

  it('never lets a chunk span two sections, even when both would fit', () => {
    const chunks = chunkBlocks([h(2, 'A'), p('alpha.'), h(2, 'B'), p('beta.')], {
      maxTokens: 500,
      overlapTokens: 0,
    });
    expect(chunks.map((c) => c.text)).toEqual(['alpha.', 'beta.']);
  });

  it('respects maxTokens for every chunk and overlaps consecutive chunks of a section', () => {
    const options = { maxTokens: 40, overlapTokens: 12 };
    const chunks = chunkBlocks([h(1, 'S'), p(sentences(30))], options);
    expect(chunks.length).toBeGreaterThan(4);
    expectWellFormed(chunks, options.maxTokens);
    for (let i = 1; i < chunks.length; i++) {
      const lastOfPrevious = chunks[i - 1]!.text.split(/(?<=\.) /).at(-1)!;
      expect(chunks[i]!.text.startsWith(lastOfPrevious)).toBe(true);
    }
    // Whole sentences only, and no more than the overlap: 6-token sentences, 12 tokens → two.
    expect(chunks[1]!.text.startsWith('Sentence number 4 talks about x. Sentence number 5')).toBe(
      true,
    );
  });

  it('does not overlap across sections', () => {
    const options = { maxTokens: 40, overlapTokens: 12 };
    const chunks = chunkBlocks(
      [h(1, 'A'), p(sentences(10, 'alpha')), h(1, 'B'), p(sentences(10, 'beta'))],
      options,
    );
    const firstOfB = chunks.find((c) => c.headingPath[0] === 'B')!;
    expect(firstOfB.text).not.toContain('alpha');
    expect(firstOfB.text.startsWith('Sentence number 0 talks about beta.')).toBe(true);
  });

  it('splits a paragraph bigger than a chunk on sentence boundaries', () => {
    const options = { maxTokens: 20, overlapTokens: 0 };
    const chunks = chunkBlocks([p(sentences(9))], options);
    expectWellFormed(chunks, options.maxTokens);
    for (const chunk of chunks) expect(chunk.text).toMatch(/^Sentence number \d+ .*x\.$/);
    expect(chunks.map((c) => c.text).join(' ')).toBe(sentences(9));
  });

  it('splits a sentence bigger than a chunk on words, and a giant word on characters', () => {
    const options = { maxTokens: 16, overlapTokens: 4 };
    const longSentence = Array.from({ length: 100 }, (_, i) => `w${i}`).join(' ');
    const giantWord = 'x'.repeat(5000);
    const chunks = chunkBlocks([p(longSentence), p(giantWord)], options);
    expectWellFormed(chunks, options.maxTokens);
    const joined = chunks.map((c) => c.text.replace(/\s+/g, '')).join('');
    expect(joined).toContain(longSentence.replace(/\s+/g, ''));
    expect(joined.match(/x/g)?.length).toBe(5000);
  });

  it('keeps code whole and fenced with its language when it fits, split on lines otherwise', () => {
    const small = 'const a = 1;\n\n  return a;';
    const one = chunkBlocks([{ kind: 'code', text: small, lang: 'ts' }], {
      maxTokens: 64,
      overlapTokens: 8,
    });
    expect(one[0]!.text).toBe(`\`\`\`ts\n${small}\n\`\`\``);
    const big = Array.from({ length: 40 }, (_, i) => `  line(${i});`).join('\n');
    const options = { maxTokens: 30, overlapTokens: 8 };
    const chunks = chunkBlocks([code(big)], options);
    expectWellFormed(chunks, options.maxTokens);
    expect(chunks.length).toBeGreaterThan(1);
    // Each part is a fence of its own; lines stay whole, in order and indented; no overlap.
    const parts = chunks.flatMap((c) => c.text.split(/\n*```\n*/).filter((t) => t !== ''));
    expect(chunks.every((c) => /^```\n[\s\S]*\n```$/.test(c.text))).toBe(true);
    expect(parts.join('\n')).toBe(big);
  });

  it('fences code that holds a fence with a longer run, so the code cannot close it', () => {
    const text = 'Write:\n```\nnpm i\n```';
    const [chunk] = chunkBlocks([code(text)], { maxTokens: 64, overlapTokens: 8 });
    expect(chunk!.text).toBe(`\`\`\`\`\n${text}\n\`\`\`\``);
  });

  it('stores prose next to code apart from the fence', () => {
    const chunks = chunkBlocks([p('Install it:'), { kind: 'code', text: 'npm i x', lang: 'sh' }], {
      maxTokens: 64,
      overlapTokens: 8,
    });
    expect(chunks.map((c) => c.text)).toEqual(['Install it:\n\n```sh\nnpm i x\n```']);
  });

  it('numbers positions 0..n-1 across sections and is deterministic', () => {
    const blocks = [h(1, 'A'), p(sentences(20)), code('x = 1'), h(2, 'B'), p(sentences(20, 'b'))];
    const options = { maxTokens: 32, overlapTokens: 10 };
    const first = chunkBlocks(blocks, options);
    expect(first.map((c) => c.position)).toEqual(first.map((_, i) => i));
    expect(chunkBlocks(blocks, options)).toEqual(first);
  });

  it('validates its options', () => {
    const bad = [
      { maxTokens: 15, overlapTokens: 0 },
      { maxTokens: 64, overlapTokens: 32 },
      { maxTokens: 64, overlapTokens: -1 },
      { maxTokens: 64.5, overlapTokens: 0 },
    ];
    for (const options of bad) {
      expect(() => chunkBlocks([p('x')], options)).toThrow(AppError);
    }
    expect(() => chunkBlocks([p('x')], { maxTokens: 16, overlapTokens: 7 })).not.toThrow();
  });
});
