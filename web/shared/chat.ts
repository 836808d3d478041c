import { createSseParser } from './sse.js';

/** A source as the origin sends it in the `sources` event. */
export interface Source {
  n: number;
  title: string;
  url: string | null;
  headingPath?: string[];
  snippet?: string;
}

/** Why an answer could not be had, in words for a reader, with the API's code. */
export interface ChatFailure {
  code: string;
  message: string;
  status?: number;
  /** Seconds to wait before asking again (HTTP 429/503 `Retry-After`). */
  retryAfter?: number;
}

export interface ChatHandlers {
  meta(meta: { conversationId?: string; requestId?: string }): void;
  sources(sources: Source[]): void;
  token(text: string): void;
  done(): void;
  fail(failure: ChatFailure): void;
  /** The origin restarted mid-answer and the question is being asked again: drop the partial text. */
  restart?(): void;
}

export interface ChatRequest {
  /** The chat endpoint: `<api base>/api/v1/sites/<site>/chat`. */
  url: string;
  key: string;
  message: string;
  conversationId?: string | undefined;
  signal: AbortSignal;
  /** Reconnections with `Last-Event-ID` after a dropped stream, or after a `shutting_down`. */
  retries?: number;
  /** The fetch to use; the global one unless a test or an embedder passes its own. */
  fetch?: typeof fetch;
}

/** The words a reader sees for each failure the API (or the edge in front of it) reports. */
export function describeFailure(code: string, status: number, retryAfter?: number): string {
  if (code === 'rate_limited' || status === 429) {
    return `Too many questions right now. Please wait ${retryAfter ?? 30} seconds and try again.`;
  }
  if (code === 'maintenance' || code === 'origin_unavailable' || status === 503) {
    return 'The assistant is down for maintenance right now. Please try again in a few minutes.';
  }
  if (code === 'forbidden' || status === 403) {
    return 'This chat is not enabled on this website.';
  }
  if (code === 'cancelled') return 'Stopped.';
  return 'Something went wrong while answering. Please try again.';
}

async function failureOf(response: Response): Promise<ChatFailure> {
  let code = '';
  let message = '';
  try {
    const body = (await response.json()) as { error?: { code?: string; message?: string } };
    code = String(body.error?.code ?? '');
    message = String(body.error?.message ?? '');
  } catch {
    // not the JSON error shape: the status alone decides
  }
  const retryAfter = Number(response.headers.get('retry-after')) || undefined;
  const words = describeFailure(code, response.status, retryAfter);
  return {
    code: code || `http_${response.status}`,
    message: code === 'validation_failed' && message !== '' ? message : words,
    status: response.status,
    ...(retryAfter === undefined ? {} : { retryAfter }),
  };
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Asks one question and streams the answer into `on`. A stream that drops before its `done` or
 * `error` event is resumed with `Last-Event-ID` (same POST, as the origin expects), up to
 * `retries` times; events already seen are not repeated by the origin.
 */
export async function streamChat(request: ChatRequest, on: ChatHandlers): Promise<void> {
  let lastId = '';
  let finished = false;
  // Set by a `shutting_down` event: the answering origin is going away (a deploy), so the
  // question is asked again, from the start, after the delay it gave; another origin answers.
  let askAgainAfter: number | undefined;
  const retries = request.retries ?? 3;
  const send = request.fetch ?? fetch;
  for (let attempt = 0; attempt <= retries && !finished; attempt++) {
    if (askAgainAfter !== undefined) {
      await wait(askAgainAfter);
      askAgainAfter = undefined;
      lastId = '';
      on.restart?.();
    } else if (attempt > 0) await wait(300 * attempt);
    if (request.signal.aborted) return;
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'X-Site-Key': request.key,
    };
    if (lastId !== '') headers['Last-Event-ID'] = lastId;
    let response: Response;
    try {
      response = await send(request.url, {
        method: 'POST',
        headers,
        body: JSON.stringify(
          request.conversationId === undefined
            ? { message: request.message }
            : { message: request.message, conversationId: request.conversationId },
        ),
        signal: request.signal,
        credentials: 'omit',
      });
    } catch {
      if (request.signal.aborted) return;
      // No response at all on the first try: the browser refused it (CORS: the site does not
      // list this page's origin) or the network is down. A later try is a dropped resume.
      if (lastId === '') {
        on.fail({ code: 'unreachable', message: describeFailure('forbidden', 0) });
        return;
      }
      continue;
    }
    if (!response.ok || response.body === null) {
      on.fail(await failureOf(response));
      return;
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    const parse = createSseParser((event) => {
      if (event.id !== '') lastId = event.id;
      let data: Record<string, unknown>;
      try {
        data = JSON.parse(event.data) as Record<string, unknown>;
      } catch {
        return;
      }
      if (event.event === 'meta') on.meta(data);
      else if (event.event === 'sources') on.sources((data.sources as Source[]) ?? []);
      else if (event.event === 'token') on.token(String(data.text ?? ''));
      else if (event.event === 'done') {
        finished = true;
        on.done();
      } else if (event.event === 'error') {
        const code = String(data.code ?? 'internal');
        if (code === 'shutting_down') {
          askAgainAfter = Math.min(Math.max(Number(data.retryAfterMs) || 1000, 100), 10_000);
          return;
        }
        finished = true;
        on.fail({ code, message: describeFailure(code, 0, Number(data.retryAfter) || undefined) });
      }
    });
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parse(value);
      }
    } catch {
      if (request.signal.aborted) return;
    }
  }
  if (!finished && !request.signal.aborted) {
    on.fail({ code: 'dropped', message: 'The connection dropped. Please ask again.' });
  }
}
