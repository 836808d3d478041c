import type {
  ChatRequest as ChatRequestBody,
  ChatStreamEvent,
  DoneEvent,
  FeedbackRequest,
  MetaEvent,
  ReaderSiteConfig,
  ReaderSource,
} from '../../contract/index.js';
import type { StringKey } from './i18n.js';
import { createSseParser } from './sse.js';

/**
 * What the front ends read of a source of the `sources` event (see the contract): a conversation
 * kept from an earlier version may lack the optional parts.
 */
export type Source = Pick<ReaderSource, 'n' | 'title' | 'url'> &
  Partial<Pick<ReaderSource, 'headingPath' | 'snippet'>>;

/** What the front ends keep of the `done` event: how it ended, what it cites, its feedback handle. */
export type Done = Partial<
  Pick<DoneEvent, 'finishReason' | 'cited' | 'messageId' | 'feedbackToken'>
>;

/**
 * Why an answer (or the site's config) could not be had. `kind` names the reader's message in
 * the strings table; `detail` is the API's own words for a request the reader can fix (too long).
 */
export interface ChatFailure {
  kind: Extract<
    StringKey,
    'forbidden' | 'retrying' | 'unreachable' | 'maintenance' | 'limited' | 'failed' | 'dropped'
  >;
  code: string;
  status?: number;
  /**
   * Seconds to wait before asking again, to tell the reader: the HTTP `Retry-After`, or an
   * `error` event's `retryAfterMs` rounded up.
   */
  retryAfter?: number;
  detail?: string;
}

export interface ChatHandlers {
  meta(meta: Partial<MetaEvent>): void;
  sources(sources: Source[]): void;
  token(text: string): void;
  done(done: Done): void;
  fail(failure: ChatFailure): void;
  /** The assistant could not be reached; another try follows in `delayMs`. */
  retrying?(delayMs: number): void;
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
  /** Reconnections with `Last-Event-ID` after a dropped stream. */
  retries?: number;
  /** Waits before each new try when the assistant cannot be reached at all. */
  backoffMs?: readonly number[];
  /** The fetch to use; the global one unless a test or an embedder passes its own. */
  fetch?: typeof fetch;
}

/** Waits between tries at an unreachable assistant: about 15 s in all before giving up. */
export const BACKOFF_MS = [1000, 2000, 4000, 8000] as const;

/** What a failed response means for the reader, from its error code and HTTP status. */
export function classify(code: string, status: number, retryAfter?: number): ChatFailure {
  const base = {
    code: code || `http_${status}`,
    ...(status && { status }),
    // A wait of 0 s is no hint.
    ...(retryAfter && { retryAfter }),
  };
  if (code === 'rate_limited' || status === 429) return { kind: 'limited', ...base };
  if (code === 'maintenance') return { kind: 'maintenance', ...base };
  // The edge could not reach the origin, or the origin is overloaded: worth trying again.
  if (code === 'origin_unavailable' || (status > 501 && status < 505)) {
    return { kind: 'unreachable', ...base };
  }
  if (code === 'forbidden' || code === 'unauthorized' || status === 403 || status === 401) {
    return { kind: 'forbidden', ...base };
  }
  return { kind: 'failed', ...base };
}

async function failureOf(response: Response): Promise<ChatFailure> {
  let error: { code?: string; message?: string } | undefined;
  try {
    error = ((await response.json()) as { error?: typeof error }).error;
  } catch {
    // not the JSON error shape: the status alone decides
  }
  const code = String(error?.code ?? '');
  const message = String(error?.message ?? '');
  const retryAfter = Number(response.headers.get('retry-after')) || undefined;
  const failure = classify(code, response.status, retryAfter);
  if (code === 'validation_failed' && message !== '') failure.detail = message;
  return failure;
}

const wait = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });

/**
 * Fetches with backoff while the assistant is unreachable (no response at all, or the edge's
 * "origin unavailable"): `onRetry` is told before each wait. Returns the last response, or a
 * failure of kind `unreachable` once the waits are spent.
 */
export async function fetchWithBackoff(
  url: string,
  init: RequestInit & { signal?: AbortSignal },
  backoffMs: readonly number[] = BACKOFF_MS,
  onRetry?: (delayMs: number) => void,
  send: typeof fetch = fetch,
): Promise<Response | ChatFailure> {
  for (let attempt = 0; ; attempt++) {
    let failure: ChatFailure;
    try {
      const response = await send(url, init);
      if (response.ok) return response;
      failure = await failureOf(response.clone());
      if (failure.kind !== 'unreachable') return response;
    } catch {
      // No response at all: the network, or the assistant's host, is down.
      failure = { kind: 'unreachable', code: 'unreachable' };
    }
    const delay = backoffMs[attempt];
    if (delay === undefined || init.signal?.aborted) return failure;
    onRetry?.(delay);
    await wait(delay, init.signal);
  }
}

/**
 * Asks one question and streams the answer into `on`. An unreachable assistant is retried with
 * backoff before giving up. A stream that drops before its `done` or `error` event is resumed
 * with `Last-Event-ID` (same POST, as the origin expects), up to `retries` times; events already
 * seen are not repeated by the origin. A `shutting_down` event (the origin is stopping, as in a
 * blue-green deploy) makes it ask the question again after the given delay.
 */
export async function streamChat(request: ChatRequest, on: ChatHandlers): Promise<void> {
  // The last event's id; before the first, `<stream id>.0` from the answer's `X-Stream-Id`: a
  // stream that breaks before its first event is resumed from its start (or, when its origin
  // died before it said anything, answered anew), not answered and stored twice.
  let lastId = '';
  let finished = false;
  let unreachableTries = 0;
  // Set by a `shutting_down` event: the answering origin is going away (a deploy), so the
  // question is asked again, from the start, after the delay it gave; another origin answers.
  let askAgainAfter: number | undefined;
  const backoff = request.backoffMs ?? BACKOFF_MS;
  const retries = request.retries ?? 3;
  for (let attempt = 0; attempt <= retries && !finished; attempt++) {
    if (askAgainAfter !== undefined) {
      await wait(askAgainAfter, request.signal);
      askAgainAfter = undefined;
      lastId = '';
      on.restart?.();
    } else if (attempt > 0) await wait(300 * attempt, request.signal);
    if (request.signal.aborted) return;
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'X-Site-Key': request.key,
    };
    if (lastId) headers['Last-Event-ID'] = lastId;
    const init = {
      method: 'POST',
      headers,
      // JSON leaves out a conversation id that is undefined (a first question).
      body: JSON.stringify({
        message: request.message,
        conversationId: request.conversationId,
      } as ChatRequestBody),
      signal: request.signal,
      credentials: 'omit' as const,
    };
    // Only a first try waits out an unreachable assistant; a resume that fails is a drop.
    const response = await fetchWithBackoff(
      request.url,
      init,
      lastId ? [] : backoff,
      on.retrying,
      request.fetch,
    );
    if (request.signal.aborted) return;
    if (!(response instanceof Response)) {
      if (!lastId) {
        on.fail(response);
        return;
      }
      continue;
    }
    if (!response.ok || response.body === null) {
      on.fail(await failureOf(response));
      return;
    }
    lastId ||= response.headers.get('X-Stream-Id')?.concat('.0') ?? '';
    let again = false;
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    // The events' fields are the contract's: the tests feed every event the origin and the edge
    // emit through this parser and check them against its schemas (the widget's size budget
    // leaves no room for a schema library here).
    const parse = createSseParser((sse) => {
      if (sse.id) lastId = sse.id;
      let e: ChatStreamEvent;
      try {
        e = { event: sse.event, data: JSON.parse(sse.data) } as ChatStreamEvent;
      } catch {
        return;
      }
      if (e.event === 'meta') on.meta(e.data);
      else if (e.event === 'sources') on.sources(e.data.sources ?? []);
      else if (e.event === 'token') on.token(String(e.data.text ?? ''));
      else if (e.event === 'done') {
        finished = true;
        on.done(e.data);
      } else if (e.event === 'error') {
        const { code } = e.data;
        // Every retry hint in an event is in milliseconds, from the origin and the edge alike.
        const waitMs = e.data.retryAfterMs;
        if (code === 'shutting_down') {
          askAgainAfter = Math.min(Math.max(waitMs ?? 1000, 100), 10_000);
          return;
        }
        const failure = classify(code, 0, waitMs && Math.ceil(waitMs / 1000));
        const delay = backoff[unreachableTries];
        // "Origin unavailable" from the edge: the stream broke and is resumed with Last-Event-ID
        // (another origin may hold it), from its start when no event came yet; an answer never
        // named (no `X-Stream-Id`: the edge's own fallback) is waited out and asked again.
        if (failure.kind === 'unreachable') {
          if (lastId) return;
          if (delay !== undefined) {
            unreachableTries += 1;
            again = true;
            on.retrying?.(delay);
            return;
          }
        }
        finished = true;
        on.fail(failure);
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
    if (again) {
      await wait(backoff[unreachableTries - 1]!, request.signal);
      attempt -= 1;
    }
  }
  if (!finished && !request.signal.aborted) on.fail({ kind: 'dropped', code: 'dropped' });
}

/** Fetches the reader config of a site (`GET …/config`), waiting out an unreachable assistant. */
export async function fetchConfig(
  base: string,
  site: string,
  key: string,
  onRetry?: (delayMs: number) => void,
  backoffMs: readonly number[] = BACKOFF_MS,
): Promise<SiteConfig | ChatFailure> {
  const response = await fetchWithBackoff(
    `${base}/api/v1/sites/${encodeURIComponent(site)}/config`,
    { headers: { 'X-Site-Key': key }, credentials: 'omit' },
    backoffMs,
    onRetry,
  );
  if (!(response instanceof Response)) return response;
  if (!response.ok) return failureOf(response);
  try {
    return ((await response.json()) as { site: SiteConfig }).site;
  } catch {
    return { kind: 'failed', code: 'bad_config' };
  }
}

/** What the origin tells readers about a site (the contract's `GET …/config` body). */
export type SiteConfig = ReaderSiteConfig;

/**
 * Records a reader's vote on an answer (`POST …/messages/:id/feedback` with the answer's feedback
 * token). Resolves to whether the origin took it.
 */
export async function sendFeedback(
  base: string,
  site: string,
  key: string,
  done: Done,
  rating: 'up' | 'down',
  comment?: string,
): Promise<boolean> {
  if (!done.messageId) return false;
  try {
    const response = await fetch(
      `${base}/api/v1/sites/${encodeURIComponent(site)}/messages/${encodeURIComponent(done.messageId)}/feedback`,
      {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Site-Key': key },
        body: JSON.stringify({
          rating,
          // JSON leaves out what is undefined: no comment, no token.
          comment: comment?.slice(0, 1000) || undefined,
          token: done.feedbackToken || undefined,
        } satisfies FeedbackRequest),
        credentials: 'omit',
      },
    );
    return response.ok;
  } catch {
    return false;
  }
}
