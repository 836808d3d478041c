import { inflateRawSync } from 'node:zlib';
import { AppError } from '../errors.js';

/** One file of a ZIP archive, as its central directory declares it. */
export interface ZipEntry {
  name: string;
  /** 0: stored, 8: deflated; anything else is refused when read. */
  method: number;
  compressedSize: number;
  /** What the archive claims; {@link readZipEntry} holds the entry to it. */
  declaredSize: number;
  localHeaderOffset: number;
}

const END_OF_DIRECTORY = 0x06054b50;
const CENTRAL_HEADER = 0x02014b50;
const LOCAL_HEADER = 0x04034b50;
/** The end record is 22 bytes plus a comment of at most 65,535. */
const END_SEARCH_SPAN = 22 + 0xffff;

/**
 * Lists the entries of a ZIP archive from its central directory (no data is inflated). Bounded by
 * the archive's size: the directory is read once, each header checked against the bytes.
 *
 * @throws AppError `unprocessable_document` when there is no readable directory.
 */
export function listZipEntries(bytes: Uint8Array, label: string): ZipEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const broken = () =>
    new AppError('unprocessable_document', `${label} is not a readable Word document`);
  let end = -1;
  for (
    let at = bytes.byteLength - 22;
    at >= Math.max(0, bytes.byteLength - END_SEARCH_SPAN);
    at--
  ) {
    if (view.getUint32(at, true) === END_OF_DIRECTORY) {
      end = at;
      break;
    }
  }
  if (end < 0) throw broken();
  const count = view.getUint16(end + 10, true);
  let at = view.getUint32(end + 16, true);
  const entries: ZipEntry[] = [];
  const decoder = new TextDecoder();
  for (let i = 0; i < count; i++) {
    if (at + 46 > bytes.byteLength || view.getUint32(at, true) !== CENTRAL_HEADER) throw broken();
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    if (at + 46 + nameLength > bytes.byteLength) throw broken();
    entries.push({
      name: decoder.decode(bytes.subarray(at + 46, at + 46 + nameLength)),
      method: view.getUint16(at + 10, true),
      compressedSize: view.getUint32(at + 20, true),
      declaredSize: view.getUint32(at + 24, true),
      localHeaderOffset: view.getUint32(at + 42, true),
    });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/**
 * Inflates one entry, holding it to the size the directory declares: an entry that inflates past
 * its declared size (a bomb that lies about its size, which unzippers trust when they allocate)
 * is refused as soon as it passes it, so the memory spent is at most what was declared.
 *
 * @throws AppError `unprocessable_document` for a damaged, lying or unsupported entry.
 */
export function readZipEntry(bytes: Uint8Array, entry: ZipEntry, label: string): Buffer {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = entry.localHeaderOffset;
  const refuse = (why: string) => new AppError('unprocessable_document', `${label}: ${why}`);
  if (at + 30 > bytes.byteLength || view.getUint32(at, true) !== LOCAL_HEADER) {
    throw refuse(`the archive entry ${entry.name} is damaged`);
  }
  const start = at + 30 + view.getUint16(at + 26, true) + view.getUint16(at + 28, true);
  const data = bytes.subarray(start, Math.min(bytes.byteLength, start + entry.compressedSize));
  if (entry.method === 0) {
    if (data.byteLength !== entry.declaredSize) {
      throw refuse(`the archive entry ${entry.name} is not the size it declares`);
    }
    return Buffer.from(data);
  }
  if (entry.method !== 8)
    throw refuse(`the archive entry ${entry.name} uses an unknown compression`);
  try {
    // One byte of room past the declared size tells a lie from an exact fit.
    const inflated = inflateRawSync(data, { maxOutputLength: entry.declaredSize + 1 });
    if (inflated.byteLength === entry.declaredSize) return inflated;
  } catch (cause) {
    if ((cause as { code?: string }).code !== 'ERR_BUFFER_TOO_LARGE') {
      throw new AppError(
        'unprocessable_document',
        `${label}: the archive entry ${entry.name} is damaged`,
        {
          cause,
        },
      );
    }
  }
  throw refuse(`the archive entry ${entry.name} unpacks to more than it declares`);
}
