import type { Block, ParsedDocument } from './document.js';

/** A line that keeps its own line: a list item (bullet, or number and `.`/`)`) or a table row. */
const OWN_LINE = /^(?:(?:[-*+•‣◦▪–]|\d{1,9}[.)])\s|\|)/u;

/**
 * Joins the lines of one paragraph: whitespace collapses to single spaces and wrapped lines are
 * rejoined, but list items and table rows keep their own lines so they still read as such.
 */
export function joinLines(lines: readonly string[]): string {
  const out: string[] = [];
  for (const line of lines) {
    const collapsed = line.replace(/\s+/g, ' ').trim();
    if (collapsed === '') continue;
    if (out.length === 0 || OWN_LINE.test(collapsed)) out.push(collapsed);
    else out[out.length - 1] += ` ${collapsed}`;
  }
  return out.join('\n');
}

/** Splits text on blank lines; each paragraph becomes one text block. Plain text has no title. */
export function parseText(text: string): ParsedDocument {
  const blocks: Block[] = [];
  for (const paragraph of text.replace(/\r\n?/g, '\n').split(/\n\s*\n/)) {
    const joined = joinLines(paragraph.split('\n'));
    if (joined !== '') blocks.push({ kind: 'text', text: joined });
  }
  return { title: null, blocks };
}
