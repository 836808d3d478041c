/**
 * One file from a Hugging Face hub, resumable and verified. The bytes go to `<target>.part`, which
 * survives a dropped connection: the next run asks for the rest with a `Range` request. A complete
 * file is checked against the size the hub announced and, when the hub states one (LFS files, i.e.
 * the weights), its SHA-256, before it is renamed into place; a file that fails the check is
 * removed, never used.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';

/** What the hub says about a file before it is fetched. */
export interface RemoteFile {
  /** Bytes, when the hub states them. */
  size?: number;
  /** Lower-case hex SHA-256, when the hub states one (its ETag for LFS files). */
  sha256?: string;
}

export interface DownloadOptions {
  fetchImpl: typeof fetch;
  /** A request is abandoned when no byte arrives for this long. */
  timeoutMs: number;
  onBytes?: (loaded: number, total: number | undefined) => void;
}

/** Redirects followed when probing (the hub sends LFS files to a CDN). */
const MAX_REDIRECTS = 5;
const SHA256 = /^(?:W\/)?"?([0-9a-f]{64})"?$/;

/**
 * Asks the hub for a file's size and checksum without fetching it (HEAD, following redirects by
 * hand so that the hub's own `X-Linked-*` headers are read before the CDN's). `missing` on a 404.
 */
export async function probeFile(
  url: string,
  options: Pick<DownloadOptions, 'fetchImpl' | 'timeoutMs'>,
): Promise<RemoteFile | 'missing'> {
  const found: RemoteFile = {};
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop += 1) {
    const response = await options.fetchImpl(current, {
      method: 'HEAD',
      redirect: 'manual',
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    const digest = response.headers.get('x-linked-etag') ?? response.headers.get('etag');
    const sha256 = digest === null ? null : SHA256.exec(digest.trim().toLowerCase());
    if (found.sha256 === undefined && sha256?.[1] !== undefined) found.sha256 = sha256[1];
    const linkedSize = byteCount(response.headers.get('x-linked-size'));
    if (found.size === undefined && linkedSize !== undefined) found.size = linkedSize;
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location !== null) {
      // The hub states an LFS file's size on its redirect; the CDN's signed URL may be good for
      // GET only, so it is not asked.
      if (found.size !== undefined) return found;
      current = new URL(location, current).href;
      continue;
    }
    if (response.status === 404) return 'missing';
    if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`.trim());
    // A compressed body's length is not the file's.
    const encoding = response.headers.get('content-encoding');
    if (encoding === null || encoding === 'identity')
      found.size ??= byteCount(response.headers.get('content-length'));
    return found;
  }
  throw new Error(`more than ${MAX_REDIRECTS} redirects`);
}

/**
 * Fetches `url` into `target`, resuming `<target>.part` when one is there, and verifies it.
 * Resolves to the file's size; `missing` when the hub has no such file.
 */
export async function downloadFile(
  url: string,
  target: string,
  options: DownloadOptions,
): Promise<{ bytes: number; sha256?: string } | 'missing'> {
  const remote = await probeFile(url, options);
  if (remote === 'missing') return 'missing';
  const partial = `${target}.part`;
  await mkdir(dirname(target), { recursive: true });
  let have = (await stat(partial).catch(() => undefined))?.size ?? 0;
  if (remote.size !== undefined && have > remote.size) {
    await rm(partial, { force: true });
    have = 0;
  }
  if (remote.size === undefined || have < remote.size) {
    have = await fetchRest(url, partial, have, remote.size, options);
  }
  if (remote.size !== undefined && have !== remote.size) {
    throw new Error(`connection closed after ${have} of ${remote.size} bytes`);
  }
  if (remote.sha256 !== undefined) {
    const actual = await sha256Of(partial);
    if (actual !== remote.sha256) {
      await rm(partial, { force: true });
      throw new Error(
        `checksum mismatch (expected sha256 ${remote.sha256}, got ${actual}); the damaged copy was removed, run again`,
      );
    }
  }
  await rename(partial, target);
  return { bytes: have, ...(remote.sha256 === undefined ? {} : { sha256: remote.sha256 }) };
}

/**
 * Appends the bytes after `have` to `partial` (a `Range` request; a server that ignores it sends
 * the whole file, which then replaces the partial copy). Resolves to the partial file's size.
 */
async function fetchRest(
  url: string,
  partial: string,
  have: number,
  size: number | undefined,
  options: DownloadOptions,
): Promise<number> {
  const controller = new AbortController();
  const stall = () => controller.abort(new Error(`no data for ${options.timeoutMs} ms`));
  let timer = setTimeout(stall, options.timeoutMs);
  let loaded = have;
  try {
    const response = await options.fetchImpl(url, {
      signal: controller.signal,
      redirect: 'follow',
      headers: have > 0 ? { range: `bytes=${have}-` } : {},
    });
    if (!response.ok || response.body === null) {
      await response.body?.cancel();
      throw new Error(`HTTP ${response.status} ${response.statusText}`.trim());
    }
    const resumed = response.status === 206 && rangeStart(response) === have;
    if (!resumed) loaded = 0;
    const length = byteCount(response.headers.get('content-length'));
    const total = size ?? (length === undefined ? undefined : loaded + length);
    // Written chunk by chunk, awaited: every byte that arrived before a failure is on disk
    // for the next run to resume from.
    const file = await open(partial, resumed ? 'a' : 'w');
    try {
      const body = Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>, {
        signal: controller.signal,
      });
      for await (const chunk of body as AsyncIterable<Uint8Array>) {
        clearTimeout(timer);
        timer = setTimeout(stall, options.timeoutMs);
        await file.write(chunk);
        loaded += chunk.length;
        options.onBytes?.(loaded, total);
      }
    } finally {
      await file.close();
    }
    return loaded;
  } catch (error) {
    // Keep what arrived for the next run; an empty file helps nobody.
    if (loaded === 0) await rm(partial, { force: true });
    throw controller.signal.aborted ? controller.signal.reason : error;
  } finally {
    clearTimeout(timer);
  }
}

/** The first byte a 206 response carries, from `Content-Range: bytes <start>-<end>/<size>`. */
function rangeStart(response: Response): number | undefined {
  const match = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(response.headers.get('content-range') ?? '');
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/** A byte count from a header, when it is one. */
function byteCount(value: string | null): number | undefined {
  const count = Number(value ?? Number.NaN);
  return value !== null && Number.isSafeInteger(count) && count >= 0 ? count : undefined;
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}
