import type { Context, Hono } from 'hono';
import type { Gauge } from 'prom-client';
import { ChatRequest } from '../../../../contract/requests.js';
import { budgetOf, type ReaderEnv } from '../../app-env.js';
import { type ChatStream, sseFrame } from '../../chat/stream-registry.js';
import { AppError } from '../../errors.js';
import { parseWith, readJson } from '../../lib/validate.js';
import type { Services } from '../../services.js';
import { openConversation } from '../../store/conversations.js';

const encoder = new TextEncoder();

/**
 * `POST /api/v1/sites/:site/chat`: a cited answer as `text/event-stream`. With `Last-Event-ID`
 * it resumes an answer of the same site still being produced (or just finished) from after that
 * event.
 *
 * A reader's request is refused, cheapest check first: a client already over its budget before
 * its body is read (by `readerLimits`, with the `resume` budget for a resume), a body over `READER_BODY_MAX_BYTES` before it is held whole, a bad body or an
 * unknown conversation before any budget is spent. Only a question that will be answered spends
 * the client's, the site's and the conversation's budgets.
 */
export function registerChat(app: Hono<ReaderEnv>, services: Services): void {
  const { config } = services;
  app.post('/:site/chat', async (c) => {
    const site = c.get('site');
    const lastEventId = c.req.header('last-event-id');
    if (lastEventId !== undefined) {
      await budgetOf(c)();
      const conversationId = await resumedConversation(c, config.READER_BODY_MAX_BYTES);
      const resumed = services.chat.registry.resume(lastEventId, site.id, conversationId);
      if (resumed === null)
        // The header tells an edge with several origins that another origin may hold the answer.
        throw new AppError('not_found', 'that answer can no longer be resumed; ask again', {
          headers: { 'X-Resume': 'unknown-stream' },
        });
      return sse(
        c,
        resumed.stream,
        resumed.after,
        services.chat.pingMs,
        services.metrics.sseStreams,
      );
    }
    const body = parseWith(ChatRequest, await readJson(c, config.READER_BODY_MAX_BYTES));
    const conversationId = await openConversation(
      services.db.pool,
      site.id,
      body.conversationId,
    ).catch((error: unknown) => {
      // A reader who stopped an answer and asks again at once: its conversation's row is written
      // only when that answer is stored, which may not have happened yet.
      const inFlight =
        body.conversationId !== undefined &&
        services.chat.registry.holds(site.id, body.conversationId);
      if (error instanceof AppError && error.code === 'not_found' && inFlight)
        return body.conversationId!;
      throw error;
    });
    services.chat.registry.ensureRoom();
    await budgetOf(c)(body.conversationId);
    const stream = services.chat.registry.create({ siteId: site.id, conversationId });
    void services.chat.service.runTurn(stream, {
      site,
      conversationId,
      message: body.message,
      requestId: c.get('requestId'),
    });
    return sse(c, stream, 0, services.chat.pingMs, services.metrics.sseStreams);
  });
}

/**
 * The conversation a resume names in its body (the client repeats its question's POST), if any:
 * a resume must then belong to it. A body that is not a valid question names none.
 */
async function resumedConversation(c: Context<ReaderEnv>, maxBytes: number) {
  let raw: unknown;
  try {
    raw = await readJson(c, maxBytes);
  } catch (error) {
    if (error instanceof AppError && error.code === 'payload_too_large') throw error;
    return undefined;
  }
  const parsed = ChatRequest.safeParse(raw);
  return parsed.success ? parsed.data.conversationId : undefined;
}

/** The stream as a response that is never buffered: comment pings keep idle proxies from closing it. */
function sse(
  c: Context<ReaderEnv>,
  stream: ChatStream,
  after: number,
  pingMs: number,
  open: Pick<Gauge, 'inc' | 'dec'>,
): Response {
  let detach = () => {};
  let ping: NodeJS.Timeout | undefined;
  // Ends once, whether the answer finished (close) or the reader left (cancel).
  let counted = false;
  const ended = () => {
    if (counted) open.dec();
    counted = false;
  };
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      open.inc();
      counted = true;
      const close = () => {
        ended();
        clearInterval(ping);
        try {
          controller.close();
        } catch {
          // already closed by a cancel
        }
      };
      ping = setInterval(() => controller.enqueue(encoder.encode(': ping\n\n')), pingMs);
      detach = stream.subscribe(after, (event) => {
        if (event === null) close();
        else controller.enqueue(encoder.encode(sseFrame(event)));
      });
    },
    cancel() {
      ended();
      clearInterval(ping);
      detach();
    },
  });
  return c.body(body, 200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    'X-Accel-Buffering': 'no',
  });
}
