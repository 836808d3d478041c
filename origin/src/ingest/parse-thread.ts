import { Worker } from 'node:worker_threads';
import type { PageLinks } from '../crawl/links.js';
import { AppError, type ErrorCode } from '../errors.js';
import type { Chunk, ChunkOptions } from './chunk.js';
import type { ParsedDocument, ParseOptions } from './document.js';
import type { SourceFormat } from './formats.js';

/** One document to parse and chunk, as sent to the worker. */
export interface ParseJob {
  id: number;
  kind: 'parse';
  format: SourceFormat;
  content: string | Uint8Array;
  label: string;
  options: ParseOptions;
  chunking: ChunkOptions;
}

/** One fetched HTML page whose links the crawler follows, as sent to the worker. */
export interface LinksJob {
  id: number;
  kind: 'links';
  html: Uint8Array;
  pageUrl: string;
}

/** The worker's answer to a {@link ParseJob} or a {@link LinksJob}. */
export type ParseReply =
  | { id: number; ok: true; parsed: ParsedDocument; chunks: Chunk[] }
  | { id: number; ok: true; links: PageLinks }
  | { id: number; ok: false; code: ErrorCode; message: string };

type Result<J> = J extends { kind: 'links' }
  ? PageLinks
  : { parsed: ParsedDocument; chunks: Chunk[] };

export interface ParseThreadOptions {
  /** A document that takes longer is refused, and the thread that parsed it replaced. */
  timeoutMs: number;
  /** The worker's heap limit; a document that needs more is refused. */
  maxMemoryMb: number;
  /** Limits passed to every parse (text size, HTML depth, PDF pages). */
  parse: ParseOptions;
  chunking: ChunkOptions;
}

/** Longest wait for a new thread to load before its first document's clock starts anyway. */
const STARTUP_TIMEOUT_MS = 30_000;

/** The worker's entry: the `.ts` source under tsx (development, tests), `.js` once built. */
const ENTRY = new URL(
  import.meta.url.endsWith('.ts') ? './parse-worker.ts' : './parse-worker.js',
  import.meta.url,
);

/**
 * Parses documents in a worker thread, one at a time, so that parsing never blocks the event
 * loop: a 200,000-character heading or a megabyte of nested HTML costs this thread, while health
 * and readers are served. Wraps the single entry point `parseDocument`, so every format (and any
 * format added to it later) goes through here. Bounded three ways: `timeoutMs` per document, the
 * heap (`maxMemoryMb`), and the text and nesting limits of `ParseOptions`; each refusal is a 422.
 * A thread that timed out or ran out of memory is terminated (its memory with it) and replaced
 * at the next document. A PDF is parsed in a fresh thread: pdf.js inflates streams into memory
 * outside the heap limit, which only ending the thread gives back.
 */
export class ParseThread {
  private worker: Worker | null = null;
  /** Resolves when the current worker has loaded its modules. */
  private ready: Promise<void> = Promise.resolve();
  private tail: Promise<unknown> = Promise.resolve();
  private nextId = 0;

  constructor(private readonly options: ParseThreadOptions) {}

  /**
   * Starts the thread now rather than with the first document: starting it holds the event loop
   * for a moment (hundreds of ms under tsx), better spent at boot than in a reader's request.
   */
  warm(): void {
    this.worker ??= this.spawn();
  }

  /** Parses and chunks one document (queued behind the others). */
  parse(
    format: SourceFormat,
    content: string | Uint8Array,
    label: string,
  ): Promise<{ parsed: ParsedDocument; chunks: Chunk[] }> {
    const job = {
      kind: 'parse' as const,
      format,
      content,
      label,
      options: this.options.parse,
      chunking: this.options.chunking,
    };
    return this.enqueue(job, label);
  }

  /**
   * Reads the links and canonical URL of a fetched HTML page (see `extractLinks`): building its
   * DOM costs tens of milliseconds a page, which a crawl of hundreds would take from readers.
   */
  links(html: Uint8Array, pageUrl: string): Promise<PageLinks> {
    return this.enqueue({ kind: 'links' as const, html, pageUrl }, pageUrl);
  }

  private enqueue<J extends Omit<ParseJob, 'id'> | Omit<LinksJob, 'id'>>(
    job: J,
    label: string,
  ): Promise<Result<J>> {
    const run = this.tail.then(() => this.run(job, label));
    this.tail = run.catch(() => {});
    return run;
  }

  /** Ends the thread (at shutdown). */
  async close(): Promise<void> {
    await this.tail;
    await this.retire();
  }

  private async run<J extends Omit<ParseJob, 'id'> | Omit<LinksJob, 'id'>>(
    body: J,
    label: string,
  ): Promise<Result<J>> {
    const worker = this.worker ?? this.spawn();
    await this.ready;
    const id = ++this.nextId;
    const job = { ...body, id };
    try {
      return await new Promise<Result<J>>((resolve, reject) => {
        const timer = setTimeout(() => {
          cleanup();
          void this.retire();
          reject(
            new AppError(
              'unprocessable_document',
              `${label} took longer than ${this.options.timeoutMs / 1000} s to parse; split it or simplify it`,
            ),
          );
        }, this.options.timeoutMs);
        const onMessage = (reply: ParseReply) => {
          if (reply.id !== id) return;
          cleanup();
          if (reply.ok) {
            resolve(
              ('links' in reply
                ? reply.links
                : { parsed: reply.parsed, chunks: reply.chunks }) as Result<J>,
            );
          } else if (reply.code === 'internal')
            reject(new Error(`parsing ${label}: ${reply.message}`));
          else reject(new AppError(reply.code, reply.message));
        };
        const onError = (error: Error & { code?: string }) => {
          cleanup();
          this.worker = null;
          reject(
            error.code === 'ERR_WORKER_OUT_OF_MEMORY'
              ? new AppError(
                  'unprocessable_document',
                  `${label} needs more than ${this.options.maxMemoryMb} MB to parse; split it or simplify it`,
                )
              : error,
          );
        };
        const cleanup = () => {
          clearTimeout(timer);
          worker.off('message', onMessage);
          worker.off('error', onError);
        };
        worker.on('message', onMessage);
        worker.on('error', onError);
        worker.postMessage(job);
      });
    } finally {
      if (body.kind === 'parse' && body.format === 'pdf') await this.retire();
    }
  }

  private spawn(): Worker {
    const worker = new Worker(bootstrapUrl(), {
      workerData: { entry: ENTRY.href },
      resourceLimits: {
        maxOldGenerationSizeMb: this.options.maxMemoryMb,
        maxYoungGenerationSizeMb: Math.min(64, Math.max(8, this.options.maxMemoryMb / 8)),
        stackSizeMb: 8,
      },
      stdout: false,
      stderr: false,
    });
    // A thread that dies between documents is simply replaced at the next one.
    worker.on('error', () => {});
    this.ready = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, STARTUP_TIMEOUT_MS);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      worker.once('message', done);
      worker.once('exit', done);
    });
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = null;
    });
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private async retire(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    await worker?.terminate();
  }
}

/**
 * The worker's first module: imports the entry, registering tsx first when the entry is
 * TypeScript (tests and `npm start` run the sources; the image runs built `.js` and has no tsx).
 */
function bootstrapUrl(): URL {
  const tsx = ENTRY.href.endsWith('.ts') ? import.meta.resolve('tsx/esm/api') : null;
  const source = [
    "import { workerData } from 'node:worker_threads';",
    tsx === null ? '' : `(await import(${JSON.stringify(tsx)})).register();`,
    'await import(workerData.entry);',
  ].join('\n');
  return new URL(`data:text/javascript,${encodeURIComponent(source)}`);
}
