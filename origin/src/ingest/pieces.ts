import { fenceLines } from './fence.js';
import type { Block } from './parse.js';
import { countTokens, splitIntoSentences } from './tokens.js';

/**
 * The unit the chunker packs: a whole paragraph or code block when it fits a chunk, else a line,
 * sentence or run of words of it. `separator` is the whitespace that joins it to the piece before.
 * Separators are always whitespace, and tokens never span whitespace, so a chunk's token count is
 * the sum of its pieces'.
 */
export interface Piece {
  kind: 'text' | 'code';
  text: string;
  tokens: number;
  separator: string;
}

type Part = Omit<Piece, 'kind'>;

/**
 * Cuts a non-heading block into pieces of at most `maxTokens` tokens each. A code block's pieces
 * are each a whole fence naming the language: code cut in two is two fenced blocks, never a run
 * of code lines that reads as prose.
 */
export function piecesOf(block: Block, maxTokens: number): Piece[] {
  if (block.kind === 'code') return codePieces(block.text, block.lang, maxTokens);
  const text = block.text.trim();
  if (text === '') return [];
  const tokens = countTokens(text);
  const parts: Part[] =
    tokens <= maxTokens ? [{ text, tokens, separator: '\n\n' }] : splitProse(text, maxTokens);
  return parts.map((part, i) => ({
    ...part,
    kind: 'text' as const,
    separator: i === 0 ? '\n\n' : part.separator,
  }));
}

/** Fewest tokens of code a fenced piece holds, whatever the fence lines cost. */
const MIN_CODE_TOKENS = 4;

/** The code in fenced pieces: whole when it fits, else runs of whole lines, each fenced. */
function codePieces(code: string, lang: string | undefined, maxTokens: number): Piece[] {
  if (code.trim() === '') return [];
  const { open, close } = fenceLines(code, lang);
  // A language tag too long to leave room for code is dropped rather than the code cut to words.
  const fence =
    maxTokens - countTokens(open) - countTokens(close) >= MIN_CODE_TOKENS
      ? { open, close }
      : fenceLines(code, undefined);
  const budget = maxTokens - countTokens(fence.open) - countTokens(fence.close);
  // Only code full of fence-like runs leaves no room for its fences: it is stored bare.
  if (budget < MIN_CODE_TOKENS) return bareCode(code, maxTokens);
  const wrap = (text: string): Piece => {
    const whole = `${fence.open}\n${text}\n${fence.close}`;
    return { kind: 'code', text: whole, tokens: countTokens(whole), separator: '\n\n' };
  };
  if (countTokens(code) <= budget) return [wrap(code)];
  const runs: string[] = [];
  let run = '';
  let tokens = 0;
  for (const part of splitCode(code, budget)) {
    if (run !== '' && tokens + part.tokens > budget) {
      runs.push(run);
      run = '';
      tokens = 0;
    }
    run += run === '' ? part.text : part.separator + part.text;
    tokens += part.tokens;
  }
  if (run !== '') runs.push(run);
  return runs.map(wrap);
}

/** Code as unfenced pieces: whole when it fits, else one piece per line for the packer. */
function bareCode(code: string, maxTokens: number): Piece[] {
  const tokens = countTokens(code);
  const parts =
    tokens <= maxTokens ? [{ text: code, tokens, separator: '\n\n' }] : splitCode(code, maxTokens);
  return parts.map((part, i) => ({
    ...part,
    kind: 'code' as const,
    separator: i === 0 ? '\n\n' : part.separator,
  }));
}

/** Lines (list items stay apart), then sentences, then words. */
function splitProse(text: string, maxTokens: number): Part[] {
  return text
    .split('\n')
    .flatMap((line) =>
      splitIntoSentences(line).flatMap((sentence, i) =>
        fitted(sentence, maxTokens, i === 0 ? '\n' : ' '),
      ),
    );
}

/** One piece per line, so that the packer regroups lines; a line too long is cut on words. */
function splitCode(text: string, maxTokens: number): Part[] {
  return text.split('\n').flatMap((line) => {
    const tokens = countTokens(line);
    return tokens <= maxTokens
      ? [{ text: line, tokens, separator: '\n' }]
      : fitted(line, maxTokens, '\n');
  });
}

/** `text` as one part if it fits, else its words packed into parts; the first takes `separator`. */
function fitted(text: string, maxTokens: number, separator: string): Part[] {
  const tokens = countTokens(text);
  if (tokens <= maxTokens) return [{ text, tokens, separator }];
  const parts: Part[] = [];
  let words: string[] = [];
  let sum = 0;
  const emit = () => {
    if (words.length > 0)
      parts.push({
        text: words.join(' '),
        tokens: sum,
        separator: parts.length === 0 ? separator : ' ',
      });
    words = [];
    sum = 0;
  };
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    for (const slice of sliceWord(word, maxTokens)) {
      const cost = countTokens(slice);
      if (sum + cost > maxTokens) emit();
      words.push(slice);
      sum += cost;
    }
  }
  emit();
  return parts;
}

/**
 * A word (no whitespace) cut into slices of at most `maxTokens` tokens, each as long as possible.
 * A slice of L letters costs at least (L - 8) / 4 tokens, which bounds the search.
 */
function sliceWord(word: string, maxTokens: number): string[] {
  if (countTokens(word) <= maxTokens) return [word];
  const chars = Array.from(word); // code points, so that no surrogate pair is cut in two
  const slices: string[] = [];
  let start = 0;
  while (start < chars.length) {
    let low = start + 1; // one character is always one token at most
    let high = Math.min(chars.length, start + 4 * maxTokens + 8);
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      if (countTokens(chars.slice(start, middle).join('')) <= maxTokens) low = middle;
      else high = middle - 1;
    }
    slices.push(chars.slice(start, low).join(''));
    start = low;
  }
  return slices;
}
