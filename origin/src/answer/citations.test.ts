import { describe, expect, it } from 'vitest';
import { CitationFilter, MAX_HELD_CHARS } from './citations.js';

function filterWhole(text: string, count: number): { text: string; cited: number[] } {
  const filter = new CitationFilter(count);
  const out = filter.push(text) + filter.end();
  return { text: out, cited: filter.cited() };
}

function filterSplit(
  parts: readonly string[],
  count: number,
): { text: string; cited: number[]; maxHeld: number } {
  const filter = new CitationFilter(count);
  let out = '';
  let fed = 0;
  let maxHeld = 0;
  for (const part of parts) {
    out += filter.push(part);
    fed += part.length;
    // Nothing is removed from text without a bracket, so the held tail is what is missing.
    if (!parts.join('').includes('[')) maxHeld = Math.max(maxHeld, fed - out.length);
  }
  out += filter.end();
  return { text: out, cited: filter.cited(), maxHeld };
}

/** A small deterministic PRNG (mulberry32), so a failing case can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FRAGMENTS = [
  ...['[', ']', '][', '1', '2', '7', '12', '999', ',', ', ', ' ', '  ', '\n'],
  ...['a', 'word', '.', '[1]', '[7]', '[1][2]', '[7][7][7]', '[1, 2, 3, 7]'],
];

function randomText(next: () => number): string {
  const length = Math.floor(next() * 40);
  return Array.from({ length }, () => FRAGMENTS[Math.floor(next() * FRAGMENTS.length)]).join('');
}

function randomSplit(text: string, next: () => number): string[] {
  const parts: string[] = [];
  let start = 0;
  while (start < text.length) {
    const size = 1 + Math.floor(next() * 4);
    parts.push(text.slice(start, start + size));
    start += size;
  }
  return parts;
}

describe('CitationFilter', () => {
  it('keeps citations of existing sources and drops the others with their spaces', () => {
    expect(filterWhole('Paris [1]. Rome [7]. Both [2].', 3)).toEqual({
      text: 'Paris [1]. Rome. Both [2].',
      cited: [1, 2],
    });
  });

  it('filters the numbers of a list marker and each of adjacent markers', () => {
    expect(filterWhole('A [1, 7]. B [7][2]. C [ 3 ,1 ]. D [9, 8].', 3)).toEqual({
      text: 'A [1]. B [2]. C [3, 1]. D.',
      cited: [1, 2, 3],
    });
  });

  it('drops [0] and leaves brackets that are not citations alone', () => {
    expect(filterWhole('x[0] [a] [2024] [] [1 2] [1]', 1).text).toBe('x [a] [2024] [] [1 2] [1]');
  });

  it('lists cited sources once, in order of first use', () => {
    expect(filterWhole('[3] [1] [3] [2, 1]', 3).cited).toEqual([3, 1, 2]);
  });

  it('removes an invalid marker split across deltas', () => {
    expect(filterSplit(['Rome', ' [', '7', ']', '.'], 3).text).toBe('Rome.');
    expect(filterSplit(['Paris [', '1', ']', '.'], 3).text).toBe('Paris [1].');
  });

  it('holds back only a tail that could still become a marker', () => {
    const filter = new CitationFilter(3);
    expect(filter.push('The answer')).toBe('The answer');
    expect(filter.push(' is [1')).toBe(' is');
    expect(filter.push('2')).toBe('');
    expect(filter.push('a')).toBe(' [12a');
    expect(filter.push(' done  ')).toBe(' done');
    expect(filter.end()).toBe('  ');
  });

  it('gives the same output and citations for any split of the input', () => {
    const next = random(20240611);
    for (let round = 0; round < 2_000; round += 1) {
      const text = randomText(next);
      const count = Math.floor(next() * 4);
      const whole = filterWhole(text, count);
      const split = filterSplit(randomSplit(text, next), count);
      expect({ text: split.text, cited: split.cited }, JSON.stringify(text)).toEqual(whole);
    }
  });

  it('gives the same output when fed one character at a time', () => {
    const next = random(7);
    for (let round = 0; round < 500; round += 1) {
      const text = randomText(next);
      const whole = filterWhole(text, 2);
      const split = filterSplit([...text], 2);
      expect({ text: split.text, cited: split.cited }, JSON.stringify(text)).toEqual(whole);
    }
  });

  it(`never holds back more than ${MAX_HELD_CHARS} characters`, () => {
    const long = `[${'1, '.repeat(40)}`;
    const split = filterSplit([...'no brackets here   at all  '], 2);
    expect(split.maxHeld).toBeLessThanOrEqual(3);
    const filter = new CitationFilter(2);
    const out = filter.push(long);
    expect(long.length - out.length).toBeLessThanOrEqual(MAX_HELD_CHARS);
    expect(out + filter.end()).toBe(long);
  });
});
