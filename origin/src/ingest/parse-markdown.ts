import type { Block, ParsedDocument } from './document.js';
import { languageOf } from './fence.js';
import { cleanInline } from './parse-markdown-inline.js';
import { joinLines } from './parse-text.js';
import { isTwoslash, visibleTwoslash } from './twoslash.js';

const FRONT_MATTER = /^---[ \t]*\n([\s\S]*?)\n(?:---|\.\.\.)[ \t]*(?:\n|$)/;
const FENCE_OPEN = /^( {0,3})(`{3,}|~{3,})(.*)$/;
/** The opening of an ATX heading; its text and closing sequence are cut by `atxHeading`. */
const ATX_OPEN = /^ {0,3}(#{1,6})(?=[ \t]|$)/;
const SETEXT_H1 = /^ {0,3}=+[ \t]*$/;
const SETEXT_H2 = /^ {0,3}-+[ \t]*$/;
const THEMATIC_BREAK = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const LINK_DEFINITION = /^ {0,3}\[[^\]]+\]:[ \t]*\S+/;
const TABLE_DELIMITER = /^[ \t]*\|?(?:[ \t]*:?-+:?[ \t]*\|)+(?:[ \t]*:?-+:?[ \t]*)?$/;
const BLOCKQUOTE = /^(?: {0,3}>[ \t]?)+/;
const LIST_ITEM = /^ {0,3}(?:[-*+]|\d{1,9}[.)])[ \t]/;
/**
 * A custom container's fence (`::: warning`, `:::tip Title`, `:::`), as VitePress, Docusaurus and
 * markdown-it-container write admonitions (and Pandoc's `::: {.note}` divs): it bounds blocks, and
 * only its title is text.
 */
const CONTAINER = /^ {0,3}:{3,}[ \t]*(?:[A-Za-z][\w-]*|\{[^}]*\})?[ \t]*(.*)$/;

/**
 * Parses Markdown into heading, text and code blocks: ATX and setext headings, fenced code kept
 * whole, paragraphs split on blank lines with list items kept together, inline syntax stripped.
 * YAML front matter is dropped; its `title:` is the title, else the first H1.
 */
export function parseMarkdown(markdown: string): ParsedDocument {
  const { body, title } = splitFrontMatter(markdown.replace(/\r\n?/g, '\n'));
  const lines = body.split('\n');
  const blocks: Block[] = [];
  let paragraph: string[] = [];
  const flush = () => {
    const text = cleanInline(joinLines(paragraph));
    if (text !== '') blocks.push({ kind: 'text', text });
    paragraph = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(BLOCKQUOTE, '');
    const fence = FENCE_OPEN.exec(line);
    if (fence && !(fence[2]!.startsWith('`') && fence[3]!.includes('`'))) {
      flush();
      // Only a fence opened inside a blockquote has `>` markers to strip from its lines.
      const unquote = BLOCKQUOTE.test(lines[i]!) ? stripQuote : (l: string) => l;
      const end = closingFence(lines, i + 1, fence[2]!, unquote);
      const raw = lines.slice(i + 1, end).map((l) => dedent(unquote(l), fence[1]!.length));
      const code = isTwoslash(fence[3]!) ? visibleTwoslash(raw) : raw;
      const lang = languageOf(fence[3]);
      if (code.some((l) => l.trim() !== ''))
        blocks.push({ kind: 'code', text: code.join('\n'), ...(lang ? { lang } : {}) });
      i = end;
      continue;
    }
    const atx = atxHeading(line);
    if (atx) {
      flush();
      pushHeading(blocks, atx.level, atx.text);
    } else if (paragraph.length > 0 && SETEXT_H1.test(line)) {
      pushHeading(blocks, 1, joinLines(paragraph));
      paragraph = [];
    } else if (paragraph.length > 0 && SETEXT_H2.test(line) && !paragraph.some(isListItem)) {
      pushHeading(blocks, 2, joinLines(paragraph));
      paragraph = [];
    } else if (line.trim() === '' || THEMATIC_BREAK.test(line)) {
      flush();
    } else if (CONTAINER.test(line)) {
      flush();
      paragraph.push(CONTAINER.exec(line)![1]!);
      flush();
    } else if (!LINK_DEFINITION.test(line) && !(line.includes('|') && TABLE_DELIMITER.test(line))) {
      paragraph.push(line);
    }
  }
  flush();
  const firstH1 = blocks.find((b) => b.kind === 'heading' && b.level === 1);
  return { title: title ?? firstH1?.text ?? null, blocks };
}

/**
 * An ATX heading's level and text, without its optional closing `#`s. Cut by hand in linear
 * time: the single regular expression this replaces backtracked quadratically on a long run of
 * spaces (a 200,000-character heading took 47 s).
 */
function atxHeading(line: string): { level: number; text: string } | null {
  const open = ATX_OPEN.exec(line);
  if (open === null) return null;
  let end = line.length;
  while (end > open[0].length && isBlank(line.charCodeAt(end - 1))) end--;
  let hashes = end;
  while (hashes > open[0].length && line.charCodeAt(hashes - 1) === 0x23) hashes--;
  // A closing sequence counts only after a space or tab (or when it is all the heading holds).
  if (hashes < end && (hashes === open[0].length || isBlank(line.charCodeAt(hashes - 1)))) {
    end = hashes;
  }
  return { level: open[1]!.length, text: line.slice(open[0].length, end).trim() };
}

function isBlank(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

function splitFrontMatter(markdown: string): { body: string; title: string | null } {
  const match = FRONT_MATTER.exec(markdown);
  if (!match) return { body: markdown, title: null };
  const raw = /^title:[ \t]*(.+?)[ \t]*$/m.exec(match[1]!)?.[1] ?? '';
  const title = raw.replace(/^(["'])(.*)\1$/, '$2').trim();
  return { body: markdown.slice(match[0].length), title: title === '' ? null : title };
}

/** The index of the line closing a fence opened with `marker`, or the end of the document. */
function closingFence(
  lines: readonly string[],
  from: number,
  marker: string,
  unquote: (line: string) => string,
): number {
  const closing = new RegExp(`^ {0,3}${marker[0] === '`' ? '`' : '~'}{${marker.length},}[ \\t]*$`);
  for (let i = from; i < lines.length; i++) {
    if (closing.test(unquote(lines[i]!))) return i;
  }
  return lines.length;
}

/** Removes up to `indent` leading spaces: the opening fence's indentation, per CommonMark. */
function dedent(line: string, indent: number): string {
  const spaces = /^ */.exec(line)![0].length;
  return line.slice(Math.min(spaces, indent));
}

function stripQuote(line: string): string {
  return line.replace(BLOCKQUOTE, '');
}

function pushHeading(blocks: Block[], level: number, raw: string): void {
  const text = cleanInline(raw).replace(/\s+/g, ' ');
  if (text !== '') blocks.push({ kind: 'heading', level, text });
}

function isListItem(line: string): boolean {
  return LIST_ITEM.test(line);
}
