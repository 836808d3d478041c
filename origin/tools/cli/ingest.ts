import { stat } from 'node:fs/promises';
import { basename, relative, sep } from 'node:path';
import { SingleBar } from 'cli-progress';
import { plural } from '../../src/lib/plural.js';
import { type ApiClient, ApiError, type UploadFile } from './api-client.js';
import { findIngestibleFiles } from './files.js';
import { pageUrl, type UrlStyle } from './page-urls.js';

/** Files per upload request, and bytes: one transaction at the origin per batch. */
const BATCH_FILES = 25;
const BATCH_BYTES = 8 * 1024 * 1024;

type Outcome = 'created' | 'updated' | 'unchanged';
interface UploadResult {
  results: Array<{ outcome: Outcome; document: { chunkCount: number } }>;
}

/** Where ingested pages are published, to link each document to its page. */
export interface IngestOptions {
  baseUrl?: string | undefined;
  urlStyle?: UrlStyle | undefined;
}

/**
 * Uploads every ingestible file under `path` to `site`, with a progress bar and a summary. Each
 * file is stored under its path relative to `path` (its identity: `a/jwt.md` and `b/jwt.md` are
 * two documents), linked to `baseUrl` + that path when a base URL is given.
 */
export async function ingestCommand(
  api: ApiClient,
  path: string,
  site: string,
  options: IngestOptions = {},
): Promise<number> {
  const found = await findIngestibleFiles(path);
  if (found.length === 0) {
    process.stderr.write(`no .md, .txt, .html or .pdf files under ${path}\n`);
    return 1;
  }
  const root = (await stat(path)).isFile() ? null : path;
  const files: UploadFile[] = found.map((file) => {
    const name = root === null ? basename(file) : relative(root, file).split(sep).join('/');
    const url =
      options.baseUrl === undefined
        ? undefined
        : pageUrl(options.baseUrl, name, options.urlStyle ?? 'clean');
    return { path: file, name, url };
  });
  const publicKey = await ensureSite(api, site);

  const started = performance.now();
  const counts = { created: 0, updated: 0, unchanged: 0, failed: 0, chunks: 0 };
  const failures: string[] = [];
  const bar = new SingleBar({
    format: 'ingesting {bar} {value}/{total} files | {chunks} chunks',
    hideCursor: true,
    clearOnComplete: true,
    stream: process.stderr,
  });
  const record = ({ results }: UploadResult) => {
    for (const result of results) {
      counts[result.outcome] += 1;
      if (result.outcome !== 'unchanged') counts.chunks += result.document.chunkCount;
    }
  };

  bar.start(files.length, 0, { chunks: 0 });
  try {
    for (const batch of await batches(files)) {
      try {
        record(await api.uploadFiles<UploadResult>(site, batch));
      } catch (error) {
        if (!(error instanceof ApiError) || error.code === 'unreachable' || batch.length === 1) {
          if (error instanceof ApiError && error.code !== 'unreachable') {
            counts.failed += 1;
            failures.push(`${batch[0]!.name}: ${error.message}`);
          } else throw error;
        } else {
          // The origin refused the batch as a whole: find the bad files one by one, keep the rest.
          for (const file of batch) {
            try {
              record(await api.uploadFiles<UploadResult>(site, [file]));
            } catch (single) {
              if (!(single instanceof ApiError) || single.code === 'unreachable') throw single;
              counts.failed += 1;
              failures.push(`${file.name}: ${single.message}`);
            }
          }
        }
      }
      bar.increment(batch.length, { chunks: counts.chunks });
    }
  } finally {
    bar.stop();
  }

  const seconds = (performance.now() - started) / 1000;
  const documents = counts.created + counts.updated + counts.unchanged;
  process.stdout.write(
    `${plural(documents, 'document')} (${counts.created} new, ${counts.updated} updated, ${counts.unchanged} unchanged), ` +
      `${plural(counts.chunks, 'chunk')} written, ${counts.failed} failed, in ${seconds.toFixed(1)} s\n`,
  );
  for (const failure of failures) process.stdout.write(`  failed: ${failure}\n`);
  const chat = new URL(`/s/${encodeURIComponent(site)}`, api.baseUrl);
  chat.searchParams.set('key', publicKey);
  process.stdout.write(`chat with it: ${chat.href}\n`);
  return counts.failed > 0 ? 1 : 0;
}

/** Groups files into upload batches of at most BATCH_FILES files and about BATCH_BYTES bytes. */
async function batches(files: readonly UploadFile[]): Promise<UploadFile[][]> {
  const groups: UploadFile[][] = [];
  let current: UploadFile[] = [];
  let bytes = 0;
  for (const file of files) {
    const size = (await stat(file.path)).size;
    if (current.length > 0 && (current.length >= BATCH_FILES || bytes + size > BATCH_BYTES)) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(file);
    bytes += size;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

/** Creates `site` unless it exists; returns its public key. */
async function ensureSite(api: ApiClient, site: string): Promise<string> {
  try {
    const found = await api.request<{ site: { publicKey: string } }>(
      'GET',
      `/api/v1/sites/${encodeURIComponent(site)}`,
    );
    return found.site.publicKey;
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 404) throw error;
    const { site: created } = await api.request<{ site: { publicKey: string } }>(
      'POST',
      '/api/v1/sites',
      {
        name: site,
      },
    );
    process.stdout.write(`created site ${site} (public key ${created.publicKey})\n`);
    return created.publicKey;
  }
}
