import type { Product } from '../product.js';

/** One chat answer as a reader's client sees it, with the source events and timing. */
export interface ChatReply {
  conversationId: string | null;
  text: string;
  sources: Array<{ n: number; source?: string; url?: string | null; title?: string }>;
  cited: number[];
  finishReason: string | null;
  error: { code: string; message: string } | null;
  /** Milliseconds from the request to the first `token` event (null when none came). */
  ttftMs: number | null;
  totalMs: number;
}

/** A stream that has not ended by then is abandoned: a hung answer must not hang the harness. */
const REPLY_TIMEOUT_MS = 120_000;

/** Asks one question through `POST /chat` and reads its event stream to the end. */
export async function ask(
  product: Product,
  site: string,
  message: string,
  conversationId: string | null,
): Promise<ChatReply> {
  const started = performance.now();
  const response = await product.raw(`/api/v1/sites/${site}/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(conversationId === null ? { message } : { message, conversationId }),
  });
  const reply: ChatReply = {
    conversationId,
    text: '',
    sources: [],
    cited: [],
    finishReason: null,
    error: null,
    ttftMs: null,
    totalMs: 0,
  };
  if (response.status !== 200 || response.body === null) {
    reply.error = {
      code: `http_${response.status}`,
      message: (await response.text()).slice(0, 300),
    };
    return reply;
  }
  const reader = response.body.getReader();
  const timer = setTimeout(() => void reader.cancel(), REPLY_TIMEOUT_MS);
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(frame)?.[1];
        const data = /^data: (.*)$/m.exec(frame)?.[1];
        if (event === undefined || data === undefined) continue;
        take(reply, event, JSON.parse(data), started);
      }
    }
  } finally {
    clearTimeout(timer);
  }
  reply.totalMs = performance.now() - started;
  return reply;
}

function take(reply: ChatReply, event: string, data: Record<string, unknown>, started: number) {
  if (event === 'meta') reply.conversationId = String(data.conversationId);
  else if (event === 'sources') reply.sources = data.sources as ChatReply['sources'];
  else if (event === 'token') {
    reply.ttftMs ??= performance.now() - started;
    reply.text += String(data.text);
  } else if (event === 'done') {
    reply.finishReason = String(data.finishReason);
    reply.cited = Array.isArray(data.cited) ? (data.cited as number[]) : [];
  } else if (event === 'error') reply.error = data as ChatReply['error'];
}
