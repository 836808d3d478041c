import mammoth from 'mammoth';
import { AppError } from '../errors.js';
import type { ParsedDocument } from './document.js';
import { parseHtml } from './parse-html.js';
import { assertTextSize, assertXmlDepth } from './parse-limits.js';
import { listZipEntries, readZipEntry } from './zip-entries.js';

/** The limits a Word document is held to, as every format is (see `ParseOptions`). */
export interface DocxLimits {
  maxTextChars: number;
  /** Deepest element nesting of any XML part of the archive. */
  maxDepth: number;
}

/** Parts of the archive the converter reads as XML (images are never read, see below). */
const XML_PART = /\.(xml|rels)$/i;

/** Largest total the archive may unpack to: a small .docx must not inflate into gigabytes. */
export const MAX_DOCX_UNPACKED_BYTES = 200 * 1024 * 1024;

/**
 * Sums the uncompressed sizes the ZIP central directory declares. The declared sizes are what
 * the unzipper trusts when it allocates, so a bomb is refused here, before anything inflates.
 */
export function declaredUnpackedBytes(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let total = 0;
  for (let at = 0; at + 46 <= bytes.byteLength; at++) {
    if (view.getUint32(at, true) !== 0x02014b50) continue; // central directory file header
    total += view.getUint32(at + 24, true);
    at += 45;
  }
  return total;
}

/**
 * Reads a Word document: mammoth turns its styles into HTML headings, paragraphs and tables,
 * and the HTML reader makes blocks of them, so a .docx chunks like any page.
 *
 * Before the converter sees it, every XML part is inflated here, held to its declared size (whose
 * total is capped), scanned for nesting in one linear pass, and its text counted against
 * `maxTextChars`: a zip bomb, a part that lies about its size, XML nested thousands deep, or
 * text past the limit are refused with a 422 before anything is built from them.
 *
 * @throws AppError `unprocessable_document` for a broken, oversized or too deeply nested archive.
 */
export async function parseDocx(
  bytes: Uint8Array,
  label: string,
  limits: DocxLimits,
): Promise<ParsedDocument> {
  if (declaredUnpackedBytes(bytes) > MAX_DOCX_UNPACKED_BYTES) {
    throw new AppError(
      'unprocessable_document',
      `${label} unpacks to more than ${MAX_DOCX_UNPACKED_BYTES / 1024 / 1024} MB`,
    );
  }
  let textChars = 0;
  for (const entry of listZipEntries(bytes, label)) {
    if (!XML_PART.test(entry.name)) continue;
    const xml = readZipEntry(bytes, entry, label).toString('utf8');
    textChars += assertXmlDepth(xml, limits.maxDepth, label);
    assertTextSize(textChars, limits.maxTextChars, label);
  }
  let html: string;
  try {
    ({ value: html } = await mammoth.convertToHtml(
      { buffer: Buffer.from(bytes) },
      // Images are not indexed: never inflate them (the default inlines each as base64).
      { convertImage: mammoth.images.imgElement(async () => ({ src: '' })) },
    ));
  } catch (cause) {
    throw new AppError('unprocessable_document', `${label} is not a readable Word document`, {
      cause,
    });
  }
  const parsed = parseHtml(`<!doctype html><html><body>${html}</body></html>`);
  // A .docx has no <title>; the first heading, if any, names it.
  const heading = parsed.blocks.find((block) => block.kind === 'heading');
  return { title: heading?.text ?? null, blocks: parsed.blocks };
}
