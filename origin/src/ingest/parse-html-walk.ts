import type { Block } from './document.js';
import { languageOf } from './fence.js';

/** The slice of a DOM node this walk reads (linkedom's nodes have it all). */
export interface DomElement {
  nodeType: number;
  nodeName: string;
  textContent: string | null;
  childNodes: ArrayLike<DomElement>;
  getAttribute(name: string): string | null;
  closest(selector: string): DomElement | null;
}

const ELEMENT_NODE = 1;
const TEXT_NODE = 3;
const HEADING = /^H([1-6])$/;

/** Elements that break the flow of text: their content never runs into their neighbours'. */
const BLOCK_ELEMENTS = new Set(
  'ADDRESS ARTICLE ASIDE BLOCKQUOTE BODY CAPTION CENTER DD DETAILS DIALOG DIV DL DT FIELDSET FIGCAPTION FIGURE FOOTER FORM HEADER HGROUP HR LI MAIN NAV OL P SECTION SUMMARY TABLE TBODY TD TFOOT TH THEAD UL'.split(
    ' ',
  ),
);

/**
 * Walks the DOM under `root` in document order and emits heading blocks for h1–h6, code blocks
 * for `pre`, one text block per table row (cells joined by " | ") and text blocks for the runs of
 * text between block-level boundaries. The walk uses an explicit stack: deeply nested markup
 * cannot overflow the call stack.
 */
export function blocksFromDom(root: DomElement): Block[] {
  const blocks: Block[] = [];
  let run = '';
  const flush = () => {
    const text = run
      .split('\n')
      .map((line) => line.replace(/\s+/g, ' ').trim())
      .filter((line) => line !== '')
      .join('\n');
    if (text !== '') blocks.push({ kind: 'text', text });
    run = '';
  };
  // A `null` entry marks the end of a block element, where its run of text ends.
  const stack: Array<DomElement | null> = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === null || node === undefined) {
      flush();
      continue;
    }
    if (node.nodeType === TEXT_NODE) run += node.textContent ?? '';
    if (node.nodeType !== ELEMENT_NODE) continue;
    const tag = node.nodeName.toUpperCase();
    const heading = HEADING.exec(tag);
    if (heading || tag === 'PRE' || tag === 'TR') {
      flush();
      const block = leafBlock(node, tag, heading);
      if (block !== null) blocks.push(block);
    } else if (tag === 'BR') {
      run += '\n';
    } else if (tag === 'IMG') {
      run += ` ${node.getAttribute('alt') ?? ''} `;
    } else {
      if (BLOCK_ELEMENTS.has(tag)) {
        flush();
        stack.push(null);
      }
      // A loop, not push(...children): a body with 100k children would overflow the arguments.
      const children = childrenOf(node);
      for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
    }
  }
  flush();
  return blocks;
}

function leafBlock(node: DomElement, tag: string, heading: RegExpExecArray | null): Block | null {
  if (tag === 'PRE') {
    // Keep the code's own whitespace; only the blank lines around it go. (`trimEnd`, not
    // `/\s+$/g`: that retries from every space of a long run, quadratic in its length.)
    const code = (node.textContent ?? '').replace(/^\s*\n/, '').trimEnd();
    if (code.trim() === '') return null;
    const lang = languageOfPre(node);
    return { kind: 'code', text: code, ...(lang ? { lang } : {}) };
  }
  const text =
    tag === 'TR'
      ? childrenOf(node)
          .filter((cell) => cell.nodeName === 'TD' || cell.nodeName === 'TH')
          .map((cell) => collapse(cell.textContent))
          .filter((cell) => cell !== '')
          .join(' | ')
      : collapse(node.textContent);
  if (text === '') return null;
  return heading ? { kind: 'heading', level: Number(heading[1]), text } : { kind: 'text', text };
}

function collapse(text: string | null): string {
  return (text ?? '').replace(/\s+/g, ' ').trim();
}

/** Whether elements under `root` nest deeper than `limit` levels (walked without recursion). */
export function nestsDeeperThan(root: DomElement, limit: number): boolean {
  const stack: Array<[DomElement, number]> = [[root, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (depth > limit) return true;
    for (const child of childrenOf(node)) {
      if (child.nodeType === ELEMENT_NODE) stack.push([child, depth + 1]);
    }
  }
  return false;
}

/**
 * The child nodes as an array. linkedom computes `childNodes` afresh on every access, in time
 * proportional to the children: indexing it in a loop is quadratic (measured: 12 s for 1 MB).
 */
function childrenOf(node: DomElement): DomElement[] {
  return Array.from(node.childNodes);
}

/**
 * The language of a `pre`, as highlighters mark it: `class="language-ts"` (or `lang-ts`) on the
 * `pre` or on its `code` child, or a `data-lang` attribute.
 */
function languageOfPre(pre: DomElement): string | undefined {
  const code = childrenOf(pre).find((child) => child.nodeName.toUpperCase() === 'CODE');
  for (const node of code === undefined ? [pre] : [pre, code]) {
    const data = node.getAttribute('data-lang') ?? node.getAttribute('data-language');
    if (data) return languageOf(data);
    const marked = /(?:^|\s)(?:language|lang)-(\S+)/.exec(node.getAttribute('class') ?? '');
    if (marked) return languageOf(marked[1]);
  }
  return undefined;
}
