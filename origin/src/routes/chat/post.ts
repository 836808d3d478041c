import type { Context, Hono } from 'hono';
import type { Gauge } from 'prom-client';
import { ChatRequest } from '../../../../contract/requests.js';
import { budgetOf, type ReaderEnv } from '../../app-env.js';
import { type Listener, parseEventId, sseFrame } from '../../chat/stream-registry.js';
import { AppError } from '../../errors.js';
import { parseWith, readJson } from '../../lib/validate.js';
import type { Services } from '../../services.js';
import { openConversation } from '../../store/conversations.js';
import { restartAnswer } from './restart.js';

const encoder = new TextEncoder();
/**
 * Events written within this window go out as one chunk. An answer's tokens often come a few
 * tenths of a millisecond apart (each after its Redis append): one write each made every proxy
 * on the way (nginx, the Worker, which pays CPU per chunk) handle hundreds of tiny chunks per
 * answer. A few milliseconds are nothing to a reader.
 */
const COALESCE_MS = 5;

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
    let asked: ChatRequest | undefined;
    if (lastEventId !== undefined) {
      await budgetOf(c)();
      asked = await resumedRequest(c, config.READER_BODY_MAX_BYTES);
      const resumed = await services.chat.registry.resume(
        lastEventId,
        site.id,
        asked?.conversationId,
        restartAnswer(services, site, c.get('requestId')),
      );
      if (resumed !== null) {
        return sse(c, resumed.subscribe, services.chat.pingMs, services.metrics.sseStreams);
      }
      // `<stream id>.0` (see `X-Stream-Id`): the reader saw nothing of that answer, and it is
      // unknown here: its origin died before it wrote anything, so nothing of it was stored
      // either. The question (the resume repeats its POST) is answered anew.
      if (asked === undefined || parseEventId(lastEventId)?.sequence !== 0) {
        // The header tells an edge with several origins that another origin may hold the answer;
        // streams shared through Redis are known to every origin, so there is none to look for.
        throw new AppError('not_found', 'that answer can no longer be resumed; ask again', {
          headers: services.chat.registry.shared ? {} : { 'X-Resume': 'unknown-stream' },
        });
      }
    }
    const body = asked ?? parseWith(ChatRequest, await readJson(c, config.READER_BODY_MAX_BYTES));
    const conversationId = await openConversation(
      services.db.pool,
      site.id,
      body.conversationId,
    ).catch(async (error: unknown) => {
      // A reader who stopped an answer and asks again at once: its conversation's row is written
      // only when that answer is stored, which may not have happened yet.
      const inFlight =
        body.conversationId !== undefined &&
        (await services.chat.registry.holds(site.id, body.conversationId));
      if (error instanceof AppError && error.code === 'not_found' && inFlight)
        return body.conversationId!;
      throw error;
    });
    services.chat.registry.ensureRoom();
    await budgetOf(c)(body.conversationId);
    const stream = services.chat.registry.create({ siteId: site.id, conversationId }, body.message);
    void services.chat.service.runTurn(stream, {
      site,
      conversationId,
      message: body.message,
      requestId: c.get('requestId'),
    });
    return sse(
      c,
      (listener) => stream.subscribe(0, listener),
      services.chat.pingMs,
      services.metrics.sseStreams,
      // Before its first event a reader knows the stream by this: a stream that breaks that
      // early is resumed from the start (`Last-Event-ID: <id>.0`), not asked (and stored) twice.
      { 'X-Stream-Id': stream.id },
    );
  });
}

/**
 * The question a resume repeats in its body (the client repeats its question's POST), if any:
 * a resume must then belong to its conversation. A body that is not a valid question names none.
 */
async function resumedRequest(
  c: Context<ReaderEnv>,
  maxBytes: number,
): Promise<ChatRequest | undefined> {
  let raw: unknown;
  try {
    raw = await readJson(c, maxBytes);
  } catch (error) {
    if (error instanceof AppError && error.code === 'payload_too_large') throw error;
    return undefined;
  }
  const parsed = ChatRequest.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}

/** The stream as a response that is never buffered: comment pings keep idle proxies from closing it. */
function sse(
  c: Context<ReaderEnv>,
  subscribe: (listener: Listener) => () => void,
  pingMs: number,
  open: Pick<Gauge, 'inc' | 'dec'>,
  headers: Record<string, string> = {},
): Response {
  let detach = () => {};
  let ping: NodeJS.Timeout | undefined;
  let flushTimer: NodeJS.Timeout | undefined;
  let pending: string[] = [];
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
      const flush = () => {
        clearTimeout(flushTimer);
        flushTimer = undefined;
        if (pending.length === 0) return;
        controller.enqueue(encoder.encode(pending.join('')));
        pending = [];
      };
      const close = () => {
        ended();
        clearInterval(ping);
        try {
          flush();
          controller.close();
        } catch {
          // already closed by a cancel
        }
      };
      ping = setInterval(() => controller.enqueue(encoder.encode(': ping\n\n')), pingMs);
      detach = subscribe((event) => {
        if (event === null) close();
        else {
          pending.push(sseFrame(event));
          flushTimer ??= setTimeout(flush, COALESCE_MS);
        }
      });
    },
    cancel() {
      ended();
      clearInterval(ping);
      clearTimeout(flushTimer);
      detach();
    },
  });
  return c.body(body, 200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    'X-Accel-Buffering': 'no',
    ...headers,
  });
}
