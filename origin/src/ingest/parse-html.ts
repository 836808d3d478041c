import { isProbablyReaderable, Readability } from '@mozilla/readability';
import { parseHTML } from 'linkedom';
import type { ParsedDocument } from './document.js';
import { blocksFromDom, type DomElement, nestsDeeperThan } from './parse-html-walk.js';

/** Elements that never hold readable text; `[hidden]` is not rendered either. */
const NEVER_TEXT =
  'script, style, noscript, template, iframe, frame, object, embed, svg, math, canvas, [hidden]';

/**
 * Readability recurses once per level of nesting and slows quadratically with depth (measured:
 * 1,000 levels 0.3 s, 5,000 levels 5 s, 20,000 overflow the stack); real pages nest far less.
 */
const MAX_READABILITY_DEPTH = 200;

/** The slice of linkedom's `Document` used here (the project compiles without DOM types). */
interface DomDocument {
  querySelector(selector: string): DomElement | null;
  querySelectorAll(selector: string): ArrayLike<DomElement & { remove(): void }>;
  cloneNode(deep: boolean): DomDocument;
}

/**
 * Reduces HTML to readable text blocks. Non-text elements are removed; page chrome (`nav`, and
 * `header`/`footer`/`aside` outside the `article`/`main`) too when the page marks its content.
 * Readability extracts the article when the page looks like one, else the body is read. Only
 * decoded text leaves this function, never markup: an `<img onerror=...>` yields its alt text at
 * most.
 */
export function parseHtml(html: string): ParsedDocument {
  const document = load(html);
  for (const element of Array.from(document.querySelectorAll(NEVER_TEXT))) element.remove();
  if (document.querySelector('article, main') !== null) {
    for (const element of Array.from(document.querySelectorAll('nav, header, footer, aside'))) {
      if (element.nodeName === 'NAV' || element.closest('article, main') === null) element.remove();
    }
  }
  // Readability renames h1 to h2 and mutates what it reads: take the title first, give it a copy.
  const title =
    clean(document.querySelector('title')?.textContent) ??
    clean(document.querySelector('h1')?.textContent);
  const body = document.querySelector('body');
  if (body === null) return { title, blocks: [] };
  const article = nestsDeeperThan(body, MAX_READABILITY_DEPTH) ? null : readArticle(document);
  return { title, blocks: blocksFromDom(article ?? body) };
}

function load(html: string): DomDocument {
  const parsed = parseHTML(html).document as DomDocument;
  if (parsed.querySelector('body') !== null) return parsed;
  // linkedom builds no <html>/<body> around a fragment; give it one so the body path works.
  const fragment = html.replace(/<!doctype[^>]*>|<\/?(?:html|head|body)\b[^>]*>/gi, '');
  return parseHTML(`<!doctype html><html><body>${fragment}</body></html>`).document as DomDocument;
}

function readArticle(document: DomDocument): DomElement | null {
  // biome-ignore lint/suspicious/noExplicitAny: Readability is typed against the DOM lib.
  const dom = document as any;
  if (!isProbablyReaderable(dom)) return null;
  try {
    const article = new Readability<DomElement>(dom.cloneNode(true), {
      serializer: (node) => node as unknown as DomElement,
    }).parse();
    if (!article?.content || clean(article.textContent) === null) return null;
    return article.content;
  } catch {
    return null; // markup Readability cannot handle is still read, as a plain body
  }
}

function clean(text: string | null | undefined): string | null {
  const collapsed = text?.replace(/\s+/g, ' ').trim() ?? '';
  return collapsed === '' ? null : collapsed;
}
