import { describe, expect, it } from 'vitest';
import { countTokens, splitIntoSentences } from './tokens.js';

describe('countTokens', () => {
  it('counts words, numbers and punctuation symbols', () => {
    expect(countTokens('')).toBe(0);
    expect(countTokens('   \n\t')).toBe(0);
    expect(countTokens('Hello, world!')).toBe(4);
    expect(countTokens('in 2024 we shipped v2.1')).toBe(8); // in 2024 we shipped v 2 . 1
  });

  it('counts long words extra, about one per four letters beyond eight', () => {
    expect(countTokens('ordinary')).toBe(1); // 8 letters
    expect(countTokens('internationally')).toBe(3); // 15 letters: 1 + ceil(7 / 4)
    expect(countTokens('a'.repeat(1000))).toBe(1 + 248);
  });

  it('counts each CJK character as one token', () => {
    expect(countTokens('日本語')).toBe(3);
    expect(countTokens('東京は大きい。')).toBe(7);
  });

  it('is additive over whitespace, which the chunker relies on', () => {
    const a = 'Sentence one, with words.';
    const b = 'Another — “quoted” — 42.';
    expect(countTokens(`${a} ${b}`)).toBe(countTokens(a) + countTokens(b));
  });

  it('keeps accented letters with combining marks in one word', () => {
    expect(countTokens('cafe\u0301')).toBe(1);
  });
});

describe('splitIntoSentences', () => {
  it('splits on terminal punctuation followed by whitespace', () => {
    expect(splitIntoSentences('One. Two! Three? Four')).toEqual(['One.', 'Two!', 'Three?', 'Four']);
  });

  it('does not split after abbreviations, initials or inside numbers', () => {
    expect(
      splitIntoSentences('Dr. Smith met J. Doe at 3.30 p.m. yesterday, e.g. here. Then left.'),
    ).toEqual(['Dr. Smith met J. Doe at 3.30 p.m. yesterday, e.g. here.', 'Then left.']);
  });

  it('keeps closing quotes with their sentence', () => {
    expect(splitIntoSentences('He said "stop." She went.')).toEqual([
      'He said "stop."',
      'She went.',
    ]);
  });

  it('splits CJK text on full stops without whitespace', () => {
    expect(splitIntoSentences('今日は晴れ。明日は雨！')).toEqual(['今日は晴れ。', '明日は雨！']);
  });

  it('returns nothing for blank text', () => {
    expect(splitIntoSentences('  ')).toEqual([]);
  });
});
