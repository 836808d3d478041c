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
  /** A code block's language, when its fence names one. */
  lang?: string;
}

const LIST_ITEM = /^\s{0,3}(?:[-*+]|\d{1,3}[.)])\s+/;
const TABLE_LINE = /^\s*\|.*\|\s*$/;
const TABLE_DELIMITER = /^\s*\|?(?:\s*:?-+:?\s*\|)+(?:\s*:?-+:?\s*)?$/;
/** A fence line as chunks store code (`ingest/fence.ts`): its marker and language. */
const FENCE = /^ {0,3}(`{3,}|~{3,})[ \t]*([\w+#.-]*)[ \t]*$/;
/** Lines that only a program would contain: they mark a block as code, not prose. */
const CODE_LINE =
  /^\s*(?:import |export |const |let |var |function |return\b|await |async |app\.|\/\/|\/\*|\*|[{}()[\];]|<\/?[A-Za-z][^>]*>$|\$ |npm |yarn |pnpm |bun |deno |npx |curl |[\w.]+\(.*\)\s*;?$)|[{(,;]\s*$|=>/;
/** Tooling lines of documentation sites' code samples, never part of what a reader types. */
const TOOLING_LINE =
  /^\s*\/\/\s*-{2,}cut(?:-start|-end)?-{2,}\s*$|^\s*\/\/\s*@(?:noErrors|errors)\b/;

/**
 * The passages of a source's text, in reading order. Code is what the text fences; text stored
 * before chunks kept their fences (no fence anywhere) has its code recognised by its lines.
 */
export function passagesOf(text: string): Passage[] {
  const passages: Passage[] = [];
  const segments = segmentsOf(text);
  const fenced = segments.some((segment) => segment.code);
  let block = 0;
  for (const segment of segments) {
    if (segment.code) {
      const lines = segment.lines.filter((line) => !TOOLING_LINE.test(line));
      if (lines.some((line) => line.trim() !== ''))
        passages.push({
          kind: 'code',
          text: trimBlankLines(lines).join('\n'),
          block: block++,
          ...(segment.lang ? { lang: segment.lang } : {}),
        });
      continue;
    }
    for (const raw of segment.lines.join('\n').split(/\n\s*\n/)) {
      passages.push(...blockPassages(raw, block++, !fenced));
    }
  }
  return passages;
}

interface Segment {
  code: boolean;
  lines: string[];
  lang?: string;
}

/** The text cut into fenced code and the text between fences; an unclosed fence runs to the end. */
function segmentsOf(text: string): Segment[] {
  const segments: Segment[] = [];
  let prose: string[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (open === null) {
      prose.push(lines[i]!);
      continue;
    }
    const marker = open[1]!;
    let end = i + 1;
    while (end < lines.length && !closes(lines[end]!, marker)) end++;
    if (prose.length > 0) segments.push({ code: false, lines: prose });
    prose = [];
    segments.push({ code: true, lines: lines.slice(i + 1, end), lang: open[2] || undefined });
    i = end;
  }
  if (prose.length > 0) segments.push({ code: false, lines: prose });
  return segments;
}

function closes(line: string, marker: string): boolean {
  const close = FENCE.exec(line);
  return (
    close !== null &&
    close[2] === '' &&
    close[1]![0] === marker[0] &&
    close[1]!.length >= marker.length
  );
}

function trimBlankLines(lines: string[]): string[] {
  let start = 0;
  let end = lines.length;
  while (start < end && lines[start]!.trim() === '') start++;
  while (end > start && lines[end - 1]!.trim() === '') end--;
  return lines.slice(start, end);
}

/** The passages of one block of text between blank lines; code only when `guessCode`. */
function blockPassages(raw: string, block: number, guessCode: boolean): Passage[] {
  const lines = raw.split('\n').filter((line) => line.trim() !== '' && !TOOLING_LINE.test(line));
  if (lines.length === 0) return [];
  if (lines.filter((line) => TABLE_LINE.test(line)).length >= 2) return tableRows(lines, block);
  // A list is a list even when its items hold code-like text (`18.x => 18.14.1+`).
  if (LIST_ITEM.test(lines[0]!) && lines.filter((l) => LIST_ITEM.test(l)).length >= 2)
    return listItems(lines, block);
  if (guessCode && isCode(lines)) return [{ kind: 'code', text: lines.join('\n'), block }];
  return [{ kind: 'prose', text: lines.map((l) => l.trim()).join(' '), block }];
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

/** A word of code or of a path, as typed: `/about/me/`, `c.req.query`, `X-Frame-Options`, `--pm`. */
const LITERAL = /^[\p{L}\p{N}/.\-_:@=#$]+$/u;
/** A literal joins parts: it holds one of these, and two letters at least. */
const JOINER = /[/.\-_:@=#]/;
const LETTERS = /\p{L}/gu;
/** What separates literals: spaces, brackets, quotes and sentence punctuation around them. */
const LITERAL_SEPARATOR = /[\s()'"`,;{}[\]<>|*!?]+/u;

/** Linear checks (a lookahead for two letters would rescan a long token from every start). */
function isLiteral(token: string): boolean {
  if (token.length < 3 || !LITERAL.test(token) || !JOINER.test(token)) return false;
  return (token.match(LETTERS)?.length ?? 0) >= 2;
}

/**
 * The terms of a text in reading order, each literal (a path, a dotted name, a hyphenated name)
 * also as itself, `=` and lower case, before its words: so `/about/me/` and `/about/me` stay
 * apart, and a reader's pasted path or name meets the passage that writes it exactly.
 */
export function sequenceOf(text: string): string[] {
  const sequence: string[] = [];
  for (const raw of text.normalize('NFKC').split(LITERAL_SEPARATOR)) {
    const token = raw.replace(/^[.:]+|[.:]+$/g, '');
    if (isLiteral(token)) sequence.push(`=${token.toLowerCase()}`);
    sequence.push(...termsOf(raw));
  }
  return sequence;
}

/**
 * Verbs that readers and documentation use for the same operation on software ("remove" a
 * cookie, `deleteCookie`): a question's verb also meets its synonyms. Generic on purpose: the
 * operations every API has, never a product's own words.
 */
const SYNONYM_GROUPS: readonly (readonly string[])[] = [
  ['remove', 'delete', 'erase', 'clear', 'unset'],
  ['create', 'add', 'make', 'generate'],
  ['change', 'modify', 'update', 'edit', 'override'],
  ['start', 'launch', 'run', 'boot'],
  ['stop', 'shutdown', 'terminate', 'abort'],
  ['show', 'display', 'print', 'log'],
  ['fetch', 'read', 'retrieve', 'load'],
  ['configure', 'config', 'setup', 'customize'],
  ['enable', 'activate'],
  ['disable', 'deactivate'],
];

const SYNONYMS: ReadonlyMap<string, readonly string[]> = new Map(
  SYNONYM_GROUPS.flatMap((group) =>
    group.map((word) => [stem(word), group.filter((w) => w !== word).map((w) => stem(w))] as const),
  ),
);

/** The other words for the operation a term names (stemmed), or none. */
export function synonymsOf(term: string): readonly string[] {
  return SYNONYMS.get(term) ?? [];
}
