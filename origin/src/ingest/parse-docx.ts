import mammoth from 'mammoth';
import { AppError } from '../errors.js';
import type { ParsedDocument } from './document.js';
import { parseHtml } from './parse-html.js';

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
 * @throws AppError `unprocessable_document` for a broken or oversized archive.
 */
export async function parseDocx(bytes: Uint8Array, label: string): Promise<ParsedDocument> {
  if (declaredUnpackedBytes(bytes) > MAX_DOCX_UNPACKED_BYTES) {
    throw new AppError(
      'unprocessable_document',
      `${label} unpacks to more than ${MAX_DOCX_UNPACKED_BYTES / 1024 / 1024} MB`,
    );
  }
  let html: string;
  try {
    ({ value: html } = await mammoth.convertToHtml({ buffer: Buffer.from(bytes) }));
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
