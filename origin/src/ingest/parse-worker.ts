/**
 * The parsing worker thread's entry (see `parse-thread.ts`): parses and chunks one document per
 * message, so that a slow or hostile document costs this thread, never the event loop that
 * serves readers.
 */
import { parentPort } from 'node:worker_threads';
import { extractLinks } from '../crawl/links.js';
import { AppError } from '../errors.js';
import { chunkBlocks } from './chunk.js';
import { parseDocument } from './parse.js';
import type { LinksJob, ParseJob, ParseReply } from './parse-thread.js';

parentPort!.on('message', async (job: ParseJob | LinksJob) => {
  let reply: ParseReply;
  try {
    if (job.kind === 'links') {
      const html = new TextDecoder().decode(job.html);
      reply = { id: job.id, ok: true, links: extractLinks(html, job.pageUrl) };
    } else {
      const parsed = await parseDocument(job.format, job.content, job.label, job.options);
      reply = { id: job.id, ok: true, parsed, chunks: chunkBlocks(parsed.blocks, job.chunking) };
    }
  } catch (error) {
    reply =
      error instanceof AppError
        ? { id: job.id, ok: false, code: error.code, message: error.message }
        : { id: job.id, ok: false, code: 'internal', message: String(error).slice(0, 500) };
  }
  parentPort!.postMessage(reply);
});
// Loaded: the parse clock starts now, not while this thread was still starting.
parentPort!.postMessage('ready');
