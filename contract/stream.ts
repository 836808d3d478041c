import { z } from 'zod';
import { ErrorCode } from './errors.js';
import { MessageId } from './requests.js';

/**
 * The events of a chat answer (`POST /api/v1/sites/:site/chat`, `text/event-stream`): `meta`,
 * `sources`, `token`…, then exactly one of `done` or `error`. Between events the origin sends
 * comment lines (`: ping`) that keep idle proxies from closing the stream; they carry no event.
 * Each origin event has an `id:` a reader resumes from (`Last-Event-ID`); the edge's own `error`
 * event has none, so a resume still starts from the origin's last event. A new answer's response
 * names its stream in `X-Stream-Id`: a stream that breaks before its first event is resumed from
 * its start with `Last-Event-ID: <stream id>.0` rather than asked again.
 */

/** How the answer used the answer cache: a first question is looked up, a follow-up bypasses it. */
export const CacheUse = z.enum(['hit', 'miss', 'bypass']);

/** `meta`: first, before anything is said. */
export const MetaEvent = z
  .object({ requestId: z.string(), conversationId: z.uuid(), cache: CacheUse })
  .strict();
export type MetaEvent = z.infer<typeof MetaEvent>;

/** A source as readers see it: a snippet of the cited section, never its full text. */
export const ReaderSource = z
  .object({
    /** The number the answer cites it by (`[n]`), from 1. */
    n: z.number().int().min(1),
    documentId: z.string(),
    title: z.string(),
    headingPath: z.array(z.string()),
    snippet: z.string(),
    source: z.string(),
    url: z.string().nullable(),
  })
  .strict();
export type ReaderSource = z.infer<typeof ReaderSource>;

/** `sources`: what the answer may cite (none when there is nothing to answer from). */
export const SourcesEvent = z.object({ sources: z.array(ReaderSource) }).strict();
export type SourcesEvent = z.infer<typeof SourcesEvent>;

/** `token`: the next piece of the answer's text (Markdown with `[n]` citations). */
export const TokenEvent = z.object({ text: z.string() }).strict();
export type TokenEvent = z.infer<typeof TokenEvent>;

/** `done`: the answer is complete and stored. */
export const DoneEvent = z
  .object({
    /** `no_answer`: the documents hold nothing relevant enough; the text says so. */
    finishReason: z.enum(['stop', 'no_answer']),
    latencyMs: z.number().int().min(0),
    tokens: z.number().int().min(0),
    /** The source numbers the answer cites. */
    cited: z.array(z.number().int().min(1)),
    /** Only on an answer served from the cache. */
    cache: z.literal('hit').optional(),
    /** The stored answer, to vote on (absent when it could not be stored). */
    messageId: MessageId.optional(),
    /** Proof that this reader received the answer: sent with a vote on it. */
    feedbackToken: z.string().max(100).optional(),
  })
  .strict();
export type DoneEvent = z.infer<typeof DoneEvent>;

/** Failures of the answer model, as a stream's `error` event names them. */
export const UpstreamErrorCode = z.enum([
  'upstream_timeout',
  'upstream_error',
  'upstream_unavailable',
  'upstream_refused',
]);

/** Why a stream ended without `done`: any error code, or one only a stream can have. */
export const StreamErrorCode = z.union([
  ErrorCode,
  UpstreamErrorCode,
  z.enum([
    /** The reader stopped the answer (or left for good). */
    'cancelled',
    /** The origin is stopping (a deploy): ask the question again after `retryAfterMs`. */
    'shutting_down',
  ]),
]);
export type StreamErrorCode = z.infer<typeof StreamErrorCode>;

/** `error`: the answer ended early; what was said before it stays said. */
export const StreamErrorEvent = z
  .object({
    code: StreamErrorCode,
    message: z.string(),
    /** Asking again may well work (the cause is passing). */
    retryable: z.boolean().optional(),
    /**
     * Milliseconds to wait before asking again. Every retry hint in a body is in milliseconds;
     * only the HTTP `Retry-After` header is in seconds, as HTTP defines it.
     */
    retryAfterMs: z.number().int().min(0).optional(),
  })
  .strict();
export type StreamErrorEvent = z.infer<typeof StreamErrorEvent>;

/** Each event's data, by event name. */
export const CHAT_EVENTS = {
  meta: MetaEvent,
  sources: SourcesEvent,
  token: TokenEvent,
  done: DoneEvent,
  error: StreamErrorEvent,
} as const;

export type ChatEventName = keyof typeof CHAT_EVENTS;

/** The data of the event named `E`. */
export type ChatEventData<E extends ChatEventName = ChatEventName> = z.infer<
  (typeof CHAT_EVENTS)[E]
>;

/** One event of the stream, its name beside its data. */
export const ChatStreamEvent = z.discriminatedUnion('event', [
  z.object({ event: z.literal('meta'), data: MetaEvent }),
  z.object({ event: z.literal('sources'), data: SourcesEvent }),
  z.object({ event: z.literal('token'), data: TokenEvent }),
  z.object({ event: z.literal('done'), data: DoneEvent }),
  z.object({ event: z.literal('error'), data: StreamErrorEvent }),
]);
export type ChatStreamEvent = z.infer<typeof ChatStreamEvent>;
