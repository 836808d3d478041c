import { createHash } from 'node:crypto';
import { CitationFilter } from '../answer/citations.js';
import { LinkFilter } from '../answer/links.js';
import {
  AnswerError,
  type AnswerGenerator,
  READER_ANSWER_ERRORS,
  type Turn,
} from '../answer/types.js';
import type { AnswerCache, CachedAnswer } from '../cache/answer-cache.js';
import type { Database } from '../db/database.js';
import type { Embedder } from '../embedders/types.js';
import type { FeedbackTokens } from '../feedback/token.js';
import type { Logger } from '../logger.js';
import { toAppError } from '../middleware/error-handler.js';
import type { Metrics } from '../observability/metrics.js';
import type { SearchService } from '../retrieval/search.js';
import { type AnswerOutcome, recentTurns, recordExchange } from '../store/conversations.js';
import type { Site } from '../store/sites.js';
import { readerSources, sourcesOf, type TurnSource, withSections } from './sources.js';
import type { ChatStream } from './stream-registry.js';

/** Said, and cited nothing, when retrieval finds nothing relevant enough to answer from. */
export const NO_ANSWER_TEXT =
  "I couldn't find anything about this in the documents, so I can't answer it. Try rephrasing, or ask about another topic.";

export interface ChatTurnDeps {
  db: Database;
  search: SearchService;
  generator: AnswerGenerator;
  embedder: Embedder;
  cache: AnswerCache;
  logger: Logger;
  metrics?: Pick<Metrics, 'timeToFirstToken' | 'chatTurns'>;
  /** Signs the `feedbackToken` of each stored answer's `done` event. */
  feedbackTokens?: FeedbackTokens;
  /** Told of each stored refusal (the site's webhook hears of coverage gaps this way). */
  onUnanswered?: (event: { site: Site; messageId: string; question: string }) => void;
  settings: {
    sources: number;
    historyTurns: number;
    historyChars: number;
    cacheSimilarity: number;
  };
}

export interface ChatTurnInput {
  site: Site;
  conversationId: string;
  message: string;
  requestId: string;
}

/**
 * One question and its answer, streamed as events: `meta`, `sources`, `token`…, then `done` or
 * `error`. It runs detached from the HTTP response (see `ChatStream`), stops when the stream's
 * signal aborts, and stores the exchange, whole or partial, before the stream ends.
 */
export async function runChatTurn(
  stream: ChatStream,
  input: ChatTurnInput,
  deps: ChatTurnDeps,
): Promise<void> {
  const started = performance.now();
  const { signal } = stream;
  let answer = '';
  let sources: TurnSource[] = [];
  let cited: number[] = [];
  let tokens = 0;
  let status: 'complete' | 'partial' | 'error' = 'complete';
  let cache: 'hit' | 'miss' | 'bypass' = 'bypass';
  let noAnswer = false;
  let ttftMs: number | null = null;
  const say = (text: string) => {
    if (text === '') return;
    if (tokens === 0) {
      ttftMs = Math.round(performance.now() - started);
      deps.metrics?.timeToFirstToken.observe({ cache }, ttftMs / 1000);
    }
    answer += text;
    tokens += 1;
    stream.emit('token', { text });
  };
  let cacheable: { embedding: Float32Array } | null = null;
  /** Sent last, after the exchange is stored: a reader who sees it can ask a follow-up at once. */
  let final: { event: 'done' | 'error'; data: unknown } | null = null;
  try {
    const history: Turn[] = await recentTurns(
      deps.db.pool,
      input.conversationId,
      deps.settings.historyTurns,
      deps.settings.historyChars,
    );
    // Only a first question is cached: a follow-up's answer depends on the conversation.
    if (history.length === 0) {
      const [embedding] = await deps.embedder.embed([input.message]);
      cacheable = { embedding: embedding! };
      const hit = await lookUp(deps, input, embedding!);
      cache = hit === null ? 'miss' : 'hit';
      if (hit !== null) {
        stream.emit('meta', {
          requestId: input.requestId,
          conversationId: input.conversationId,
          cache: 'hit',
        });
        stream.emit('sources', { sources: hit.sources });
        for (const piece of hit.answer.split(/(?<= )/)) say(piece);
        cited = hit.cited;
        sources = [];
        final = { event: 'done', data: { ...done('stop', started, tokens, cited), cache: 'hit' } };
        return;
      }
    }
    stream.emit('meta', {
      requestId: input.requestId,
      conversationId: input.conversationId,
      cache: cacheable === null ? 'bypass' : 'miss',
    });
    const query =
      history.length > 0
        ? await deps.generator.condense(input.message, history, signal)
        : input.message;
    signal.throwIfAborted();
    const found = await deps.search.search(input.site, {
      query,
      k: deps.settings.sources,
      mode: 'hybrid',
      rerank: true,
      // A first question was embedded for the cache lookup already; its query is the question.
      queryVector: query === input.message ? cacheable?.embedding : undefined,
      // A rewritten follow-up is judged off-topic by the reader's words, not the rewrite's.
      askedText: query === input.message ? undefined : input.message,
    });
    signal.throwIfAborted();
    if (found.noGoodAnswer || found.results.length === 0) {
      noAnswer = true;
      stream.emit('sources', { sources: [] });
      for (const word of NO_ANSWER_TEXT.split(/(?<= )/)) say(word);
      final = { event: 'done', data: done('no_answer', started, tokens, []) };
      return;
    }
    sources = await withSections(deps.db.pool, sourcesOf(found.results));
    stream.emit('sources', { sources: readerSources(sources) });
    const filter = new CitationFilter(sources.length);
    // Links first: a link's label may look like a citation, and only a source's URL survives.
    const links = new LinkFilter(sources.flatMap((source) => (source.url ? [source.url] : [])));
    for await (const delta of deps.generator.stream({
      question: input.message,
      sources,
      history,
      signal,
    })) {
      say(filter.push(links.push(delta)));
    }
    say(filter.push(links.end()) + filter.end());
    cited = filter.cited();
    final = { event: 'done', data: done('stop', started, tokens, cited) };
    if (cacheable !== null) {
      const shown = readerSources(sources);
      await deps.cache.put(
        input.site.id,
        input.site.contentVersion,
        input.message,
        cacheable.embedding,
        {
          answer,
          sources: shown,
          cited,
          createdAt: Date.now(),
        },
      );
    }
  } catch (error) {
    status = answer === '' ? 'error' : 'partial';
    if (signal.aborted) {
      final = { event: 'error', data: { code: 'cancelled', message: 'The answer was stopped.' } };
    } else if (error instanceof AnswerError) {
      deps.logger.warn({ err: error, requestId: input.requestId }, 'answer model failed');
      final = {
        event: 'error',
        data: { code: error.code, message: READER_ANSWER_ERRORS[error.code], retryable: true },
      };
    } else if (toAppError(error)?.status === 503) {
      // A full queue or pool, or the database gone: the reader may simply ask again later.
      const known = toAppError(error)!;
      const retryAfterMs = Number(known.headers['Retry-After'] ?? 5) * 1000;
      final = {
        event: 'error',
        data: { code: known.code, message: known.message, retryable: true, retryAfterMs },
      };
    } else {
      deps.logger.error({ err: error, requestId: input.requestId }, 'chat turn failed');
      final = {
        event: 'error',
        data: {
          code: 'internal',
          message: 'Something went wrong while answering; please try again.',
          retryable: true,
        },
      };
    }
  } finally {
    const outcome: AnswerOutcome =
      status === 'complete' ? (noAnswer ? 'no_answer' : 'answered') : status;
    const messageId = await recordExchange(
      deps.db.pool,
      input.site.id,
      input.conversationId,
      input.message,
      {
        content: answer,
        sources: sources.map(({ text: _text, ...source }) => source),
        cited,
        status,
        log: { outcome, ttftMs, latencyMs: Math.round(performance.now() - started) },
      },
      cacheable?.embedding,
    ).catch((error: unknown) => {
      deps.logger.error({ err: error, requestId: input.requestId }, 'could not store the exchange');
      return null;
    });
    deps.metrics?.chatTurns.inc({
      outcome: noAnswer && status === 'complete' ? 'no_answer' : status,
    });
    if (messageId !== null && final?.event === 'done') {
      // Only the reader holding this stream learns the token: it is what lets them vote on it.
      const token = deps.feedbackTokens?.sign(messageId);
      final.data = {
        ...(final.data as object),
        messageId,
        ...(token ? { feedbackToken: token } : {}),
      };
    }
    if (messageId !== null && outcome === 'no_answer') {
      deps.onUnanswered?.({ site: input.site, messageId, question: input.message });
    }
    // The question itself only at debug: at info it is known by its length and a short hash.
    deps.logger.info(
      {
        requestId: input.requestId,
        site: input.site.name,
        questionChars: input.message.length,
        questionHash: createHash('sha256').update(input.message).digest('hex').slice(0, 12),
        cache,
        status,
        tokens,
        ms: Math.round(performance.now() - started),
      },
      'chat turn',
    );
    deps.logger.debug({ requestId: input.requestId, question: input.message }, 'chat question');
    if (final !== null) stream.emit(final.event, final.data);
    stream.finish();
  }
}

/** The exact tier first (same question, normalized), then the semantic tier. */
async function lookUp(
  deps: ChatTurnDeps,
  input: ChatTurnInput,
  embedding: Float32Array,
): Promise<CachedAnswer | null> {
  const { site } = input;
  const exact = await deps.cache.getExact(site.id, site.contentVersion, input.message);
  if (exact !== null) return exact;
  const similar = await deps.cache.getSimilar(
    site.id,
    site.contentVersion,
    embedding,
    deps.settings.cacheSimilarity,
  );
  return similar?.answer ?? null;
}

function done(
  finishReason: 'stop' | 'no_answer',
  started: number,
  tokens: number,
  cited: number[],
) {
  return { finishReason, latencyMs: Math.round(performance.now() - started), tokens, cited };
}
