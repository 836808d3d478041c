import type { Source } from './chat.js';

/**
 * A safe subset of Markdown rendered with DOM APIs only: paragraphs, headings (as bold lines),
 * bullet and numbered lists, fenced code blocks, simple tables, inline code, bold, italic, links
 * and `[n]` citation markers. Every piece of text reaches the DOM as a text node, so markup in the
 * model's answer or in a document is shown, never parsed.
 */

/**
 * Which citations and links an answer may show. Citations travel as data (the `done` event's
 * `cited` list), never re-read from the text: a `[n]` the answer does not cite is dropped, and a
 * Markdown link becomes a link only when it points at a cited source's URL.
 */
export interface AnswerLinks {
  /** A cited marker's URL (null: cited, no URL, shown as a plain marker); undefined drops it. */
  cite(n: number): string | null | undefined;
  /** Whether a Markdown link to `url` may be a link. */
  allows(url: string): boolean;
}

/**
 * The links of an answer from its sources and cited list. While it streams (`cited` null) a
 * marker of a listed source shows as plain text and no link is made yet.
 */
export function answerLinks(
  sources: readonly Source[],
  cited: readonly number[] | null,
): AnswerLinks {
  const shown = sources.filter((s) => (cited === null ? true : cited.includes(s.n)));
  const urls = new Set(cited === null ? [] : shown.map((s) => safeHref(s.url)));
  return {
    cite: (n) => {
      const source = shown.find((s) => s.n === n);
      if (source === undefined) return undefined;
      return cited === null ? null : safeHref(source.url);
    },
    allows: (url) => {
      const href = safeHref(url);
      return href !== null && urls.has(href);
    },
  };
}

const INLINE =
  /(`[^`\n]+`)|(\*\*[^*\n]+\*\*|__[^_\n]+__)|(\*[^*\s][^*\n]*\*|_[^_\s][^_\n]*_)|\[(\d{1,3})\]|\[([^\]\n]+)\]\(([^\s)]+)\)|\\([\\`*_[\]()#|!])/g;
const WORD = /[\p{L}\p{N}_]/u;

/** `url` if it is an absolute http(s) URL, else null: no `javascript:` or `data:` link ever. */
export function safeHref(url: unknown): string | null {
  if (typeof url !== 'string') return null;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : null;
  } catch {
    return null;
  }
}

function el<K extends keyof HTMLElementTagNameMap>(
  doc: Document,
  tag: K,
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = doc.createElement(tag);
  if (text !== undefined) node.textContent = text;
  return node;
}

function link(doc: Document, href: string, text: string): HTMLAnchorElement {
  const a = el(doc, 'a', text);
  a.href = href;
  a.target = '_blank';
  a.rel = 'noopener noreferrer';
  return a;
}

/** Appends the inline content of `text` to `parent`. */
export function renderInline(doc: Document, parent: Node, text: string, links: AnswerLinks): void {
  let last = 0;
  const pattern = new RegExp(INLINE.source, 'g');
  const emit = (to: number) => {
    if (to > last) parent.appendChild(doc.createTextNode(text.slice(last, to)));
  };
  for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
    const at = m.index;
    const end = at + m[0].length;
    // `shared_buffers`, `__init__`-like names: an underscore inside a word is not emphasis.
    if (m[0][0] === '_' && (WORD.test(text[at - 1] ?? '') || WORD.test(text[end] ?? ''))) {
      pattern.lastIndex = at + 1;
      continue;
    }
    emit(at);
    last = end;
    if (m[1] !== undefined) parent.appendChild(el(doc, 'code', m[1].slice(1, -1)));
    else if (m[2] !== undefined) parent.appendChild(el(doc, 'strong', m[2].slice(2, -2)));
    else if (m[3] !== undefined) parent.appendChild(el(doc, 'em', m[3].slice(1, -1)));
    // A backslash escape (the origin escapes `[` `]` in quoted text): the character, as text.
    else if (m[7] !== undefined) parent.appendChild(doc.createTextNode(m[7]));
    else if (m[4] !== undefined) {
      const url = links.cite(Number(m[4]));
      if (url === undefined) continue; // not a citation of this answer: dropped
      const marker = url === null ? el(doc, 'span', m[0]) : link(doc, url, m[0]);
      marker.className = 'cite';
      parent.appendChild(marker);
    } else {
      const url = links.allows(m[6]!) ? safeHref(m[6]) : null;
      parent.appendChild(url === null ? doc.createTextNode(m[5]!) : link(doc, url, m[5]!));
    }
  }
  emit(text.length);
}

const BULLET = /^\s*[-*+]\s+(.*)$/;
const NUMBERED = /^\s*\d{1,3}[.)]\s+(.*)$/;
const ROW = /^\s*\|.*\|\s*$/;
const RULE = /^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$/;

const cells = (line: string) =>
  line
    .trim()
    .replace(/^\||\|$/g, '')
    .split('|')
    .map((cell) => cell.trim());

/** Renders `source` as a fragment of block elements. */
export function renderMarkdown(
  doc: Document,
  source: string,
  links: AnswerLinks,
): DocumentFragment {
  const out = doc.createDocumentFragment();
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  let paragraph: string[] = [];
  let list: HTMLUListElement | HTMLOListElement | null = null;
  const flush = () => {
    if (paragraph.length > 0) {
      const p = el(doc, 'p');
      renderInline(doc, p, paragraph.join(' '), links);
      out.appendChild(p);
    }
    paragraph = [];
    list = null;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^\s*```/.test(line)) {
      flush();
      const code: string[] = [];
      // An unclosed fence (a stream still arriving) runs to the end of the text.
      while (++i < lines.length && !/^\s*```/.test(lines[i]!)) code.push(lines[i]!);
      const pre = el(doc, 'pre');
      pre.appendChild(el(doc, 'code', code.join('\n')));
      out.appendChild(pre);
      continue;
    }
    if (ROW.test(line) && RULE.test(lines[i + 1] ?? '')) {
      flush();
      const wrap = el(doc, 'div');
      wrap.className = 'table';
      const table = el(doc, 'table');
      const row = (cellsOf: string[], tag: 'th' | 'td', parent: HTMLElement) => {
        const tr = parent.appendChild(el(doc, 'tr'));
        for (const cell of cellsOf) renderInline(doc, tr.appendChild(el(doc, tag)), cell, links);
      };
      row(cells(line), 'th', table.appendChild(el(doc, 'thead')));
      const body = table.appendChild(el(doc, 'tbody'));
      for (i += 2; i < lines.length && ROW.test(lines[i]!); i++) row(cells(lines[i]!), 'td', body);
      i -= 1;
      wrap.appendChild(table);
      out.appendChild(wrap);
      continue;
    }
    const bullet = BULLET.exec(line);
    const numbered = bullet === null ? NUMBERED.exec(line) : null;
    if (bullet !== null || numbered !== null) {
      const tag = bullet !== null ? 'ul' : 'ol';
      if (paragraph.length > 0 || list === null || list.tagName.toLowerCase() !== tag) {
        flush();
        list = el(doc, tag);
        out.appendChild(list);
      }
      const item = el(doc, 'li');
      renderInline(doc, item, (bullet ?? numbered)![1]!, links);
      list.appendChild(item);
      continue;
    }
    if (line.trim() === '') {
      flush();
      continue;
    }
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (heading !== null) {
      flush();
      const p = el(doc, 'p');
      const strong = el(doc, 'strong');
      renderInline(doc, strong, heading[1]!, links);
      p.appendChild(strong);
      out.appendChild(p);
      continue;
    }
    if (list !== null) list = null;
    paragraph.push(line.trim());
  }
  flush();
  return out;
}
