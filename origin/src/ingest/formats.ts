import { AppError } from '../errors.js';

/** The document formats the ingest pipeline can parse. */
export type SourceFormat = 'text' | 'markdown' | 'html' | 'pdf' | 'docx' | 'csv';

const FORMAT_BY_EXTENSION: Record<string, SourceFormat> = {
  txt: 'text',
  md: 'markdown',
  markdown: 'markdown',
  html: 'html',
  htm: 'html',
  pdf: 'pdf',
  docx: 'docx',
  csv: 'csv',
};

/** Formats by media type, for pages fetched from the web (parameters such as charset dropped). */
const FORMAT_BY_MEDIA_TYPE: Record<string, SourceFormat> = {
  'text/html': 'html',
  'application/xhtml+xml': 'html',
  'text/markdown': 'markdown',
  'text/x-markdown': 'markdown',
  'text/plain': 'text',
  'application/pdf': 'pdf',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  'text/csv': 'csv',
};

/**
 * The format of a fetched page from its `Content-Type`; a `text/plain` page whose path ends in a
 * known extension (a `.md` file served as plain text) takes the extension's format. Null when
 * the type is not one the pipeline reads.
 */
export function formatFromMediaType(
  contentType: string | undefined,
  url: string,
): SourceFormat | null {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const format = FORMAT_BY_MEDIA_TYPE[type] ?? null;
  if (format === 'text' || type === 'application/octet-stream') {
    const path = new URL(url).pathname;
    const ext = path.slice(path.lastIndexOf('.') + 1).toLowerCase();
    const byExt = FORMAT_BY_EXTENSION[ext];
    if (byExt !== undefined && (format === 'text' || byExt === 'pdf' || byExt === 'docx'))
      return byExt;
  }
  return format;
}

/** Every extension the pipeline reads, with its dot (`.md`, `.docx`, …). */
export const INGESTIBLE_EXTENSIONS: ReadonlySet<string> = new Set(
  Object.keys(FORMAT_BY_EXTENSION).map((ext) => `.${ext}`),
);

const ACCEPTED = Object.keys(FORMAT_BY_EXTENSION)
  .map((ext) => `.${ext}`)
  .join(', ');

/**
 * The format of a file, from its extension (case-insensitive).
 *
 * @throws AppError `unsupported_media_type` naming the extension and the accepted ones.
 */
export function formatFromFileName(name: string): SourceFormat {
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
  const format = FORMAT_BY_EXTENSION[ext];
  if (format === undefined) {
    const shown = ext === '' ? 'a file without an extension' : `.${ext} files`;
    throw new AppError(
      'unsupported_media_type',
      `cannot ingest ${shown}; accepted extensions: ${ACCEPTED}`,
    );
  }
  return format;
}

/** Leading bytes of binary formats that people upload by mistake under a text extension. */
const BINARY_MAGIC: ReadonlyArray<{ kind: string; bytes: readonly number[] }> = [
  { kind: 'a PDF file', bytes: [0x25, 0x50, 0x44, 0x46, 0x2d] }, // %PDF-
  { kind: 'a ZIP archive (or an Office document)', bytes: [0x50, 0x4b, 0x03, 0x04] }, // PK\3\4
  { kind: 'a PNG image', bytes: [0x89, 0x50, 0x4e, 0x47] },
  { kind: 'a JPEG image', bytes: [0xff, 0xd8, 0xff] },
  { kind: 'a GIF image', bytes: [0x47, 0x49, 0x46, 0x38] }, // GIF8
];

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return prefix.length <= bytes.length && prefix.every((b, i) => bytes[i] === b);
}

/**
 * Refuses a file whose bytes are not what its name says: a `.pdf` must start with `%PDF-`, and a
 * text-like file must not carry NUL bytes or a known binary magic number.
 *
 * @throws AppError `unsupported_media_type`, e.g. "report.pdf is not a PDF file".
 */
export function checkContentMatchesFormat(
  format: SourceFormat,
  bytes: Uint8Array,
  fileName: string,
): void {
  if (format === 'pdf') {
    if (!startsWith(bytes, BINARY_MAGIC[0]!.bytes)) {
      throw new AppError('unsupported_media_type', `${fileName} is not a PDF file`);
    }
    return;
  }
  if (format === 'docx') {
    // A .docx is a ZIP archive; anything else under that name is refused before unzipping.
    if (!startsWith(bytes, BINARY_MAGIC[1]!.bytes)) {
      throw new AppError('unsupported_media_type', `${fileName} is not a Word (.docx) file`);
    }
    return;
  }
  const magic = BINARY_MAGIC.find((m) => startsWith(bytes, m.bytes));
  if (magic !== undefined) {
    throw new AppError(
      'unsupported_media_type',
      `${fileName} is ${magic.kind}, not a ${format} file`,
    );
  }
  // UTF-8 text never contains a NUL byte except for U+0000 itself, which no document needs;
  // UTF-16 text, on the other hand, is full of them.
  if (bytes.includes(0)) {
    throw new AppError(
      'unsupported_media_type',
      `${fileName} looks like a binary file, not a ${format} file (it contains NUL bytes)`,
    );
  }
}

/**
 * Refuses text containing U+0000: PostgreSQL `text` cannot store it. For strings submitted as
 * JSON, where no byte check ran.
 *
 * @throws AppError `invalid_encoding` naming `label`.
 */
export function assertCleanText(text: string, label: string): void {
  if (text.includes('\u0000')) {
    throw new AppError('invalid_encoding', `${label} contains NUL characters (U+0000)`);
  }
}

/**
 * Decodes strict UTF-8 and drops a leading byte-order mark.
 *
 * @throws AppError `invalid_encoding` naming `label` for invalid UTF-8 or NUL characters.
 */
export function decodeUtf8Strict(bytes: Uint8Array, label: string): string {
  let text: string;
  try {
    // ignoreBOM: false (the default) makes the decoder consume a leading BOM.
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (cause) {
    throw new AppError('invalid_encoding', `${label} is not valid UTF-8 text`, { cause });
  }
  // A second BOM can survive when the file was BOM-prefixed twice by careless tools.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  assertCleanText(text, label);
  return text;
}
