import { AppError } from '../errors.js';

/** Defaults of the parse limits (`PARSE_MAX_TEXT_CHARS`, `PARSE_MAX_HTML_DEPTH`). */
export const DEFAULT_MAX_TEXT_CHARS = 20_000_000;
export const DEFAULT_MAX_HTML_DEPTH = 512;

/**
 * Elements that never nest in the count: void elements, and those whose end tag HTML lets a page
 * leave out (`<p>`, `<li>`, `<td>`…), which a plain count would otherwise stack up forever.
 */
const NOT_NESTING = new Set(
  (
    'area base br col embed hr img input link meta source track wbr param keygen ' +
    'p li dt dd tr td th thead tbody tfoot option optgroup rb rt rp colgroup caption'
  ).split(' '),
);

/**
 * One tag: `<name ...>` or `</name>`. Linear over the whole text: an unclosed tag is scanned
 * only up to the next `<`, and the name must end where the name ends (no backtracking into it).
 */
const TAG = /<(\/?)([A-Za-z][A-Za-z0-9-]{0,63})(?=[\s/>])[^<>]*?(\/?)>/g;

/**
 * Refuses HTML nested deeper than `maxDepth` elements, counted in one linear pass over its tags
 * before any DOM is built: a DOM of a million nested elements costs seconds to build and
 * quadratic time to walk (1 MB of nested `<div>`s took 25 s).
 *
 * @throws AppError `unprocessable_document` naming the limit.
 */
export function assertHtmlDepth(html: string, maxDepth: number, label: string): void {
  let depth = 0;
  for (const match of html.matchAll(TAG)) {
    const name = match[2]!.toLowerCase();
    if (NOT_NESTING.has(name) || match[3] === '/') continue;
    if (match[1] === '/') {
      if (depth > 0) depth -= 1;
    } else if (++depth > maxDepth) {
      throw new AppError(
        'unprocessable_document',
        `${label} nests HTML elements more than ${maxDepth} deep; flatten it or split it`,
      );
    }
  }
}

/**
 * Refuses a document whose text runs past `maxChars` characters (after decoding, or, for a PDF,
 * after its streams are inflated): a small file can decode to gigabytes.
 *
 * @throws AppError `unprocessable_document` naming the limit.
 */
export function assertTextSize(chars: number, maxChars: number, label: string): void {
  if (chars > maxChars) {
    throw new AppError(
      'unprocessable_document',
      `${label} holds more than ${maxChars.toLocaleString('en')} characters of text; split it into smaller documents`,
    );
  }
}

/** One XML tag (`<w:tbl ...>`, `</w:tbl>`, `<w:br/>`); linear like {@link TAG}. */
const XML_TAG = /<(\/?)([A-Za-z_][\w.:-]{0,127})(?=[\s/>])[^<>]*?(\/?)>/g;

/**
 * Refuses XML nested deeper than `maxDepth` elements, in one linear pass over its tags before any
 * parser sees it (the parsers of Office documents recurse once per level), and returns how many
 * characters lie outside its tags: an upper bound of the text the XML can yield.
 *
 * @throws AppError `unprocessable_document` naming the limit.
 */
export function assertXmlDepth(xml: string, maxDepth: number, label: string): number {
  let depth = 0;
  let tagChars = 0;
  for (const match of xml.matchAll(XML_TAG)) {
    tagChars += match[0].length;
    if (match[3] === '/') continue;
    if (match[1] === '/') {
      if (depth > 0) depth -= 1;
    } else if (++depth > maxDepth) {
      throw new AppError(
        'unprocessable_document',
        `${label} nests elements more than ${maxDepth} deep; flatten it or split it`,
      );
    }
  }
  return xml.length - tagChars;
}
