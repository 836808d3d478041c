import { AppError } from '../errors.js';
import type { ParsedDocument, ParseOptions } from './document.js';
import {
  assertCleanText,
  checkContentMatchesFormat,
  decodeUtf8Strict,
  type SourceFormat,
} from './formats.js';
import { parseCsv } from './parse-csv.js';
import { parseDocx } from './parse-docx.js';
import { parseHtml } from './parse-html.js';
import {
  assertHtmlDepth,
  assertTextSize,
  DEFAULT_MAX_HTML_DEPTH,
  DEFAULT_MAX_TEXT_CHARS,
} from './parse-limits.js';
import { parseMarkdown } from './parse-markdown.js';
import { type PdfOptions, parsePdf } from './parse-pdf.js';
import { parseText } from './parse-text.js';

export type { Block, ParsedDocument, ParseOptions } from './document.js';
export type { PdfOptions };
export { parseHtml, parseMarkdown, parsePdf, parseText };

/**
 * Parses one document of `format`. Bytes are checked against the format and decoded as strict
 * UTF-8 first; strings (submitted as JSON) are checked for NUL characters. `label` (usually the
 * file name) names the document in error messages. Text comes out NFC-normalized, so that the
 * same words are indexed alike whatever the source's Unicode form.
 *
 * @throws AppError `unsupported_media_type`, `invalid_encoding` or `unprocessable_document`.
 */
export async function parseDocument(
  format: SourceFormat,
  content: string | Uint8Array,
  label: string,
  options: ParseOptions = {},
): Promise<ParsedDocument> {
  const maxTextChars = options.maxTextChars ?? DEFAULT_MAX_TEXT_CHARS;
  if (format === 'pdf') {
    if (typeof content === 'string') {
      throw new AppError('unsupported_media_type', `${label}: a PDF must be uploaded as a file`);
    }
    checkContentMatchesFormat(format, content, label);
    const pdfOptions: PdfOptions = { label, maxTextChars };
    if (options.maxPdfPages !== undefined) pdfOptions.maxPages = options.maxPdfPages;
    return normalize(await parsePdf(content, pdfOptions));
  }
  if (format === 'docx') {
    if (typeof content === 'string') {
      throw new AppError('unsupported_media_type', `${label}: a .docx must be uploaded as a file`);
    }
    checkContentMatchesFormat(format, content, label);
    return normalize(
      await parseDocx(content, label, {
        maxTextChars,
        maxDepth: options.maxHtmlDepth ?? DEFAULT_MAX_HTML_DEPTH,
      }),
    );
  }
  let text: string;
  if (typeof content === 'string') {
    assertCleanText(content, label);
    text = content.charCodeAt(0) === 0xfeff ? content.slice(1) : content;
  } else {
    checkContentMatchesFormat(format, content, label);
    text = decodeUtf8Strict(content, label);
  }
  assertTextSize(text.length, maxTextChars, label);
  if (format === 'html') {
    assertHtmlDepth(text, options.maxHtmlDepth ?? DEFAULT_MAX_HTML_DEPTH, label);
  }
  if (format === 'csv') return normalize(parseCsv(text, label));
  const parse = { text: parseText, markdown: parseMarkdown, html: parseHtml }[format];
  return normalize(parse(text));
}

function normalize(doc: ParsedDocument): ParsedDocument {
  return {
    title: doc.title?.normalize('NFC') ?? null,
    blocks: doc.blocks.map((block) => ({ ...block, text: block.text.normalize('NFC') })),
  };
}
