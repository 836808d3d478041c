import { getResolvedPDFJS } from 'unpdf';
import { AppError } from '../errors.js';
import type { Block, ParsedDocument } from './document.js';
import { assertTextSize, DEFAULT_MAX_TEXT_CHARS } from './parse-limits.js';
import { joinLines } from './parse-text.js';

/** How many pages a PDF may have before it is refused rather than parsed. */
export const DEFAULT_MAX_PDF_PAGES = 2000;

/** Options of {@link parsePdf}. */
export interface PdfOptions {
  /** Names the document in error messages (default `document`). */
  label?: string;
  /** A PDF with more pages is refused with `unprocessable_document`. */
  maxPages?: number;
  /** A PDF whose text runs past this many characters is refused (an inflate bomb's, say). */
  maxTextChars?: number;
}

/** The fields of a pdf.js text item read here. */
interface TextItem {
  str: string;
  transform: number[];
  hasEOL: boolean;
}

/**
 * Extracts the text of a PDF page by page, in reading order as pdf.js reports it. Lines come
 * from pdf.js's end-of-line marks and baseline changes; a blank line or a vertical gap wider
 * than about one and a half lines ends a paragraph. The title is the document's Title metadata.
 *
 * @throws AppError `unprocessable_document` for a corrupt, encrypted or over-long PDF, with a
 * short message and the pdf.js error only as `cause`.
 */
export async function parsePdf(
  bytes: Uint8Array,
  options: PdfOptions = {},
): Promise<ParsedDocument> {
  const label = options.label ?? 'document';
  const maxPages = options.maxPages ?? DEFAULT_MAX_PDF_PAGES;
  const { getDocument } = await getResolvedPDFJS();
  // pdf.js transfers (detaches) the buffer it is given, so it gets a copy, not the caller's bytes.
  // verbosity 0 keeps its warnings about damaged files out of our logs.
  const task = getDocument({ data: bytes.slice(), verbosity: 0 });
  try {
    const pdf = await task.promise;
    if (pdf.numPages > maxPages) {
      throw new AppError(
        'unprocessable_document',
        `${label} has ${pdf.numPages} pages; at most ${maxPages} are accepted`,
      );
    }
    const title = await pdf.getMetadata().then(
      (meta) => titleOf(meta.info),
      () => null, // unreadable metadata costs the title, not the document
    );
    const blocks: Block[] = [];
    let chars = 0;
    // One page at a time, so that memory holds one page's text content, not all of them.
    for (let number = 1; number <= pdf.numPages; number++) {
      const page = await pdf.getPage(number);
      const content = await page.getTextContent();
      const items = content.items.flatMap((item) => ('str' in item ? [item] : []));
      // Counted as pages come: a small file whose streams inflate to gigabytes stops here.
      for (const item of items) chars += item.str.length;
      assertTextSize(chars, options.maxTextChars ?? DEFAULT_MAX_TEXT_CHARS, label);
      for (const text of paragraphsOf(items)) blocks.push({ kind: 'text', text });
      page.cleanup();
    }
    return { title, blocks };
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw new AppError(
      'unprocessable_document',
      `could not read ${label} as a PDF: ${reason(error)}`,
      {
        cause: error,
      },
    );
  } finally {
    await task.destroy().catch(() => undefined);
  }
}

function titleOf(info: unknown): string | null {
  const title = (info as { Title?: unknown } | undefined)?.Title;
  if (typeof title !== 'string') return null;
  const collapsed = title.replace(/\s+/g, ' ').trim();
  return collapsed === '' ? null : collapsed;
}

/** A short, safe reason: the names pdf.js gives its exceptions, never a stack or a raw message. */
function reason(error: unknown): string {
  const name = error instanceof Error ? error.name : '';
  if (name === 'PasswordException') return 'it is encrypted with a password';
  if (name === 'InvalidPDFException') return 'the file is damaged or truncated';
  return 'the file is damaged or uses features that cannot be read';
}

/** Groups a page's text items into paragraphs of rejoined lines. */
function paragraphsOf(items: readonly TextItem[]): string[] {
  const paragraphs: string[][] = [[]];
  let line = '';
  let lastY: number | null = null;
  let lastSize = 1;
  const breakParagraph = () => {
    if (paragraphs[paragraphs.length - 1]!.length > 0) paragraphs.push([]);
  };
  const endLine = () => {
    if (line.trim() !== '') paragraphs[paragraphs.length - 1]!.push(line);
    line = '';
  };
  for (const item of items) {
    if (item.str.trim() !== '') {
      const y = item.transform[5] ?? 0;
      const size = Math.hypot(item.transform[2] ?? 0, item.transform[3] ?? 0) || lastSize;
      if (lastY !== null && Math.abs(lastY - y) > size / 2) {
        endLine();
        // Text that jumps up (a new column) or leaves more than a line's gap starts a paragraph.
        const gap = lastY - y;
        if (gap < 0 || gap > 1.6 * Math.max(size, lastSize)) breakParagraph();
      }
      lastY = y;
      lastSize = size;
    }
    line += item.str;
    if (item.hasEOL) endLine();
  }
  endLine();
  return paragraphs.map((lines) => joinLines(dehyphenate(lines))).filter((text) => text !== '');
}

/** Rejoins words hyphenated across lines ("exam-" + "ple"), the usual break in typeset text. */
function dehyphenate(lines: readonly string[]): string[] {
  const out: string[] = [];
  for (const line of lines) {
    const previous = out[out.length - 1];
    if (previous !== undefined && /\p{L}-$/u.test(previous) && /^\p{Ll}/u.test(line)) {
      out[out.length - 1] = previous.slice(0, -1) + line;
    } else {
      out.push(line);
    }
  }
  return out;
}
