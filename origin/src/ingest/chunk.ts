import { AppError } from '../errors.js';
import type { Block } from './parse.js';
import { type Piece, piecesOf } from './pieces.js';
import { countTokens, splitIntoSentences } from './tokens.js';

/**
 * Version of the stored chunk text. 2: code blocks are Markdown fences naming their language
 * (1 stored them bare). Ingestion hashes it with each document, so re-ingesting a folder or
 * syncing a website re-chunks documents stored in an older format.
 */
export const CHUNK_FORMAT = 2;

/** How big chunks are, in {@link countTokens} tokens. */
export interface ChunkOptions {
  /** Upper bound of every chunk's `tokenCount`; at least 16. */
  maxTokens: number;
  /** Tokens repeated from the end of the previous chunk of the same section; under half of `maxTokens`. */
  overlapTokens: number;
}

/** One retrievable passage of a document. */
export interface Chunk {
  /** The passage; the heading path is not repeated in it. */
  text: string;
  /** 0-based order of the chunk in its document. */
  position: number;
  /** Headings above the passage, outermost first. */
  headingPath: string[];
  /** `countTokens(text)`, never above `maxTokens`. */
  tokenCount: number;
}

interface Section {
  headingPath: string[];
  blocks: Block[];
}

/**
 * Cuts a document's blocks into chunks that follow its structure. A heading starts a section
 * (the heading path is a stack by level); a chunk never spans two sections. A section's
 * paragraphs are packed greedily up to `maxTokens`; one too big is split on sentences, then
 * words. Consecutive chunks of one section share whole trailing sentences worth at most
 * `overlapTokens`. Code is kept whole when it fits, else split on lines. Deterministic.
 *
 * @throws AppError `validation_failed` for options out of range.
 */
export function chunkBlocks(blocks: readonly Block[], options: ChunkOptions): Chunk[] {
  validate(options);
  const chunks: Chunk[] = [];
  for (const section of sectionsOf(blocks)) {
    const pieces = section.blocks.flatMap((block) => piecesOf(block, options.maxTokens));
    for (const text of pack(pieces, options)) {
      chunks.push({
        text,
        position: chunks.length,
        headingPath: section.headingPath,
        tokenCount: countTokens(text),
      });
    }
  }
  return chunks;
}

function validate({ maxTokens, overlapTokens }: ChunkOptions): void {
  if (!Number.isInteger(maxTokens) || maxTokens < 16) {
    throw new AppError(
      'validation_failed',
      `maxTokens must be an integer of at least 16, got ${maxTokens}`,
    );
  }
  if (!Number.isInteger(overlapTokens) || overlapTokens < 0 || overlapTokens * 2 >= maxTokens) {
    throw new AppError(
      'validation_failed',
      `overlapTokens must be an integer from 0 to under half of maxTokens (${maxTokens}), got ${overlapTokens}`,
    );
  }
}

function sectionsOf(blocks: readonly Block[]): Section[] {
  const sections: Section[] = [{ headingPath: [], blocks: [] }];
  const stack: Array<{ level: number; text: string }> = [];
  for (const block of blocks) {
    if (block.kind !== 'heading') {
      sections[sections.length - 1]!.blocks.push(block);
      continue;
    }
    while (stack.length > 0 && stack[stack.length - 1]!.level >= block.level) stack.pop();
    stack.push({ level: block.level, text: block.text });
    sections.push({ headingPath: stack.map((h) => h.text), blocks: [] });
  }
  return sections.filter((section) => section.blocks.length > 0);
}

/** Packs pieces greedily into chunk texts; every piece is at most `maxTokens` already. */
function pack(pieces: readonly Piece[], { maxTokens, overlapTokens }: ChunkOptions): string[] {
  const chunks: Piece[][] = [];
  let current: Piece[] = [];
  let tokens = 0;
  for (const piece of pieces) {
    if (current.length > 0 && tokens + piece.tokens > maxTokens) {
      chunks.push(current);
      const overlap = overlapOf(current, Math.min(overlapTokens, maxTokens - piece.tokens));
      current = overlap === null ? [] : [overlap];
      tokens = overlap?.tokens ?? 0;
    }
    current.push(piece);
    tokens += piece.tokens;
  }
  if (current.length > 0) chunks.push(current);
  return chunks
    .map((chunk) =>
      chunk.map((piece, i) => (i === 0 ? piece.text : piece.separator + piece.text)).join(''),
    )
    .map((text) => text.replace(/^\s*\n/, '').trimEnd()) // code keeps its first line's indent
    .filter((text) => text.trim() !== '');
}

/**
 * The whole sentences at the end of a chunk's prose worth at most `budget` tokens, as one piece
 * to open the next chunk with; null when not even the last sentence fits or the chunk ends in code.
 */
function overlapOf(chunk: readonly Piece[], budget: number): Piece | null {
  const sentences: string[] = [];
  let tokens = 0;
  for (let i = chunk.length - 1; i >= 0; i--) {
    const piece = chunk[i]!;
    if (piece.kind === 'code') break;
    const own = splitIntoSentences(piece.text);
    for (let j = own.length - 1; j >= 0; j--) {
      const cost = countTokens(own[j]!);
      if (tokens + cost > budget) return finish(sentences, tokens);
      sentences.unshift(own[j]!);
      tokens += cost;
    }
  }
  return finish(sentences, tokens);
}

function finish(sentences: string[], tokens: number): Piece | null {
  if (sentences.length === 0) return null;
  return { kind: 'text', text: sentences.join(' '), tokens, separator: '\n\n' };
}
