/**
 * A safe subset of Markdown rendered with DOM APIs only: paragraphs, headings (as bold lines),
 * bullet and numbered lists, fenced code blocks, inline code, bold, italic, http(s) links and
 * `[n]` citation markers. Every piece of text reaches the DOM as a text node, so markup in the
 * model's answer or in a document is shown, never parsed.
 */

/** How citation markers become links: the URL of source `n`, or null to leave it as text. */
export type SourceHref = (n: number) => string | null;

const INLINE =
  /(`[^`\n]+`)|(\*\*[^*\n]+\*\*|__[^_\n]+__)|(\*[^*\s][^*\n]*\*|_[^_\s][^_\n]*_)|\[(\d{1,3})\]|\[([^\]\n]+)\]\((https?:\/\/[^\s)]+)\)/g;

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
export function renderInline(doc: Document, parent: Node, text: string, href: SourceHref): void {
  let last = 0;
  for (const m of text.matchAll(INLINE)) {
    if (m.index > last) parent.appendChild(doc.createTextNode(text.slice(last, m.index)));
    last = m.index + m[0].length;
    if (m[1] !== undefined) parent.appendChild(el(doc, 'code', m[1].slice(1, -1)));
    else if (m[2] !== undefined) parent.appendChild(el(doc, 'strong', m[2].slice(2, -2)));
    else if (m[3] !== undefined) parent.appendChild(el(doc, 'em', m[3].slice(1, -1)));
    else if (m[4] !== undefined) {
      const url = safeHref(href(Number(m[4])));
      const marker = url === null ? el(doc, 'span', m[0]) : link(doc, url, m[0]);
      marker.className = 'cite';
      parent.appendChild(marker);
    } else {
      const url = safeHref(m[6]);
      parent.appendChild(url === null ? doc.createTextNode(m[0]) : link(doc, url, m[5]!));
    }
  }
  if (last < text.length) parent.appendChild(doc.createTextNode(text.slice(last)));
}

const BULLET = /^\s*[-*+]\s+(.*)$/;
const NUMBERED = /^\s*\d{1,3}[.)]\s+(.*)$/;

/** Renders `source` as a fragment of block elements. */
export function renderMarkdown(doc: Document, source: string, href: SourceHref): DocumentFragment {
  const out = doc.createDocumentFragment();
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  let paragraph: string[] = [];
  let list: HTMLUListElement | HTMLOListElement | null = null;
  const flush = () => {
    if (paragraph.length > 0) {
      const p = el(doc, 'p');
      renderInline(doc, p, paragraph.join(' '), href);
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
      renderInline(doc, item, (bullet ?? numbered)![1]!, href);
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
      renderInline(doc, strong, heading[1]!, href);
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
