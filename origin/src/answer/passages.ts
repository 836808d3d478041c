/**
 * Passages at block level, for answers quoted from documents: a paragraph, one list item, a code
 * block, or one table row with its header. A passage is quoted whole, in its structure, so a
 * command, a value or a table cell survives as the document wrote it.
 */
import { COMMON_ENGLISH_WORDS } from '../embedders/common-words.js';
import { stem } from '../embedders/hash.js';
import { SMART_STOPWORDS } from '../retrieval/stopwords.js';

export type PassageKind = 'prose' | 'item' | 'code' | 'row';

export interface Passage {
  kind: PassageKind;
  text: string;
  /** Position of the block in its source, so neighbours can be found. */
  block: number;
}

const LIST_ITEM = /^\s{0,3}(?:[-*+]|\d{1,3}[.)])\s+/;
const TABLE_LINE = /^\s*\|.*\|\s*$/;
const TABLE_DELIMITER = /^\s*\|?(?:\s*:?-+:?\s*\|)+(?:\s*:?-+:?\s*)?$/;
/** Lines that only a program would contain: they mark a block as code, not prose. */
const CODE_LINE =
  /^\s*(?:import |export |const |let |var |function |return\b|await |async |app\.|\/\/|\/\*|\*|[{}()[\];]|<\/?[A-Za-z][^>]*>$|\$ |npm |yarn |pnpm |bun |deno |npx |curl |[\w.]+\(.*\)\s*;?$)|[{(,;]\s*$|=>/;
/** Tooling lines of documentation sites' code samples, never part of what a reader types. */
const TOOLING_LINE =
  /^\s*\/\/\s*-{2,}cut(?:-start|-end)?-{2,}\s*$|^\s*\/\/\s*@(?:noErrors|errors)\b/;

/** The passages of a source's text, in reading order. */
export function passagesOf(text: string): Passage[] {
  const passages: Passage[] = [];
  text.split(/\n\s*\n/).forEach((raw, block) => {
    const lines = raw.split('\n').filter((line) => line.trim() !== '' && !TOOLING_LINE.test(line));
    if (lines.length === 0) return;
    if (lines.filter((line) => TABLE_LINE.test(line)).length >= 2) {
      passages.push(...tableRows(lines, block));
    } else if (isCode(lines)) {
      passages.push({ kind: 'code', text: lines.join('\n'), block });
    } else if (LIST_ITEM.test(lines[0]!) && lines.filter((l) => LIST_ITEM.test(l)).length >= 2) {
      passages.push(...listItems(lines, block));
    } else {
      passages.push({ kind: 'prose', text: lines.map((l) => l.trim()).join(' '), block });
    }
  });
  return passages;
}

function isCode(lines: readonly string[]): boolean {
  const code = lines.filter((line) => CODE_LINE.test(line)).length;
  return code >= Math.max(1, lines.length / 2);
}

/** One passage per data row, each under the table's header row. */
function tableRows(lines: readonly string[], block: number): Passage[] {
  const rows = lines.filter((line) => !TABLE_DELIMITER.test(line));
  const [header, ...data] = rows;
  if (header === undefined || data.length === 0)
    return [{ kind: 'prose', text: lines.join('\n'), block }];
  const columns = header.split('|').length - 2;
  const delimiter = `|${' --- |'.repeat(Math.max(1, columns))}`;
  return data.map((row) => ({
    kind: 'row' as const,
    text: `${header}\n${delimiter}\n${row}`,
    block,
  }));
}

/** One passage per item; a continuation line stays with its item. */
function listItems(lines: readonly string[], block: number): Passage[] {
  const items: string[] = [];
  for (const line of lines) {
    if (LIST_ITEM.test(line) || items.length === 0) items.push(line.trim());
    else items[items.length - 1] += ` ${line.trim()}`;
  }
  return items.map((text) => ({ kind: 'item' as const, text, block }));
}

const IGNORED: ReadonlySet<string> = new Set([...COMMON_ENGLISH_WORDS, ...SMART_STOPWORDS]);

/**
 * The content terms of a text, stemmed: function words dropped, identifiers split too
 * (`maxSize` gives `maxsize`, `max` and `size`), so a question's plain words meet an API's names.
 */
export function termsOf(text: string): string[] {
  const terms: string[] = [];
  for (const word of text.normalize('NFKC').match(/[\p{L}\p{N}_]+/gu) ?? []) {
    const parts = word.split(/_|(?<=[a-z0-9])(?=[A-Z])/);
    for (const part of parts.length > 1 ? [word, ...parts] : [word]) {
      const lower = part.toLowerCase();
      if (lower.length < 2 || IGNORED.has(lower)) continue;
      terms.push(stem(lower));
    }
  }
  return terms;
}
