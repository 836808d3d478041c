import { createHash } from 'node:crypto';
import type { ChatStreamEvent, StreamErrorEvent } from '../../../contract/stream.js';
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
import { toAppError } from '../errors.js';
import type { FeedbackTokens } from '../feedback/token.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { SearchHit, SearchResult, SearchService } from '../retrieval/search.js';
import { type AnswerOutcome, recentTurns, recordExchange } from '../store/conversations.js';
import type { Site } from '../store/sites.js';
import { readerSources, sourcesOf, withDocument, withSections } from './sources.js';
import type { ChatStream } from './stream-registry.js';
import { Transcript } from './transcript.js';

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

/** How a turn ended, before it is stored: its status, and the event the reader gets last. */
interface Ending {
  status: 'complete' | 'partial' | 'error';
  /** Complete, but nothing relevant was found: the refusal was said instead of an answer. */
  noAnswer: boolean;
  /** Sent last, after the exchange is stored: a reader who sees it can ask a follow-up at once. */
  final: Extract<ChatStreamEvent, { event: 'done' | 'error' }>;
}

/**
 * The chat turn, in named steps: recall (the answer cache), retrieve, generate, record. Each step
 * returns how the turn ended or hands on; what the reader has been sent so far lives in one
 * `Transcript`, which is what gets stored, whole or partial.
 */
export class ChatService {
  constructor(private readonly deps: ChatTurnDeps) {}

  /**
   * One question and its answer, streamed as events: `meta`, `sources`, `token`…, then `done` or
   * `error`. It runs detached from the HTTP response (see `ChatStream`), stops when the stream's
   * signal aborts, and stores the exchange, whole or partial, before the stream ends.
   */
  async runTurn(stream: ChatStream, input: ChatTurnInput): Promise<void> {
    const turn = new Transcript(stream, this.deps.metrics);
    try {
      const ending = await this.answer(stream, input, turn).catch((error: unknown) =>
        this.failure(error, stream.signal, input, turn),
      );
      await this.record(stream, input, turn, ending);
    } finally {
      stream.finish();
    }
  }

  private async answer(
    stream: ChatStream,
    input: ChatTurnInput,
    turn: Transcript,
  ): Promise<Ending> {
    const history: Turn[] = await recentTurns(
      this.deps.db.pool,
      input.conversationId,
      this.deps.settings.historyTurns,
      this.deps.settings.historyChars,
    );
    // Only a first question is cached: a follow-up's answer depends on the conversation.
    if (history.length === 0) {
      const hit = await this.recall(input, turn);
      if (hit !== null) return this.replay(stream, input, turn, hit);
    }
    stream.emit('meta', {
      requestId: input.requestId,
      conversationId: input.conversationId,
      cache: turn.cache === 'bypass' ? 'bypass' : 'miss',
    });
    const found = await this.retrieve(input, history, turn, stream.signal);
    if (found.noGoodAnswer || found.results.length === 0) return this.decline(stream, turn);
    return this.generate(stream, input, history, turn, found.results);
  }

  /** Embeds a first question (kept for the search and the stored exchange) and looks it up. */
  private async recall(input: ChatTurnInput, turn: Transcript): Promise<CachedAnswer | null> {
    const [embedding] = await this.deps.embedder.embed([input.message]);
    turn.questionEmbedding = embedding!;
    const hit = await lookUp(this.deps, input, embedding!);
    turn.cache = hit === null ? 'miss' : 'hit';
    return hit;
  }

  /** Streams a cached answer as if it were being written. */
  private replay(
    stream: ChatStream,
    input: ChatTurnInput,
    turn: Transcript,
    hit: CachedAnswer,
  ): Ending {
    stream.emit('meta', {
      requestId: input.requestId,
      conversationId: input.conversationId,
      cache: 'hit',
    });
    stream.emit('sources', { sources: hit.sources });
    for (const piece of hit.answer.split(/(?<= )/)) turn.say(piece);
    turn.cited = hit.cited;
    return {
      status: 'complete',
      noAnswer: false,
      final: { event: 'done', data: { ...turn.done('stop'), cache: 'hit' } },
    };
  }

  /** The passages to answer from: a follow-up is first rewritten as a question of its own. */
  private async retrieve(
    input: ChatTurnInput,
    history: Turn[],
    turn: Transcript,
    signal: AbortSignal,
  ): Promise<SearchResult> {
    const query =
      history.length > 0
        ? await this.deps.generator.condense(input.message, history, signal)
        : input.message;
    signal.throwIfAborted();
    const found = await this.deps.search.search(input.site, {
      query,
      k: this.deps.settings.sources,
      mode: 'hybrid',
      rerank: true,
      // A first question was embedded for the cache lookup already; its query is the question.
      queryVector: query === input.message ? turn.questionEmbedding : undefined,
      // A rewritten follow-up is judged off-topic by the reader's words, not the rewrite's.
      askedText: query === input.message ? undefined : input.message,
    });
    signal.throwIfAborted();
    return found;
  }

  /** Nothing relevant enough was found: says so, and cites nothing. */
  private decline(stream: ChatStream, turn: Transcript): Ending {
    stream.emit('sources', { sources: [] });
    for (const word of NO_ANSWER_TEXT.split(/(?<= )/)) turn.say(word);
    return {
      status: 'complete',
      noAnswer: true,
      final: { event: 'done', data: turn.done('no_answer') },
    };
  }

  /** Streams the model's answer through the link and citation filters, then caches it. */
  private async generate(
    stream: ChatStream,
    input: ChatTurnInput,
    history: Turn[],
    turn: Transcript,
    results: SearchHit[],
  ): Promise<Ending> {
    // Each cited section whole: the value is often in the chunk next to the one that matched;
    // and, for a generator that reads it, the rest of a short top document.
    const pool = this.deps.db.pool;
    const sources = await withDocument(
      pool,
      await withSections(pool, sourcesOf(results)),
      this.deps.generator.documentChars ?? 0,
    );
    turn.sources = sources;
    stream.emit('sources', { sources: readerSources(sources) });
    const filter = new CitationFilter(sources.length);
    // Links first: a link's label may look like a citation, and only a source's URL survives.
    const links = new LinkFilter(sources.flatMap((source) => (source.url ? [source.url] : [])));
    for await (const delta of this.deps.generator.stream({
      question: input.message,
      sources,
      history,
      signal: stream.signal,
    })) {
      turn.say(filter.push(links.push(delta)));
    }
    turn.say(filter.push(links.end()) + filter.end());
    turn.cited = filter.cited();
    const final = { event: 'done' as const, data: turn.done('stop') };
    if (turn.questionEmbedding !== undefined) {
      await this.deps.cache.put(
        input.site.id,
        input.site.contentVersion,
        input.message,
        turn.questionEmbedding,
        {
          answer: turn.answer,
          sources: readerSources(sources),
          cited: turn.cited,
          createdAt: Date.now(),
        },
      );
    }
    return { status: 'complete', noAnswer: false, final };
  }

  /** A turn that threw: stopped by the reader, the model failing, a full queue, or a bug. */
  private failure(
    error: unknown,
    signal: AbortSignal,
    input: ChatTurnInput,
    turn: Transcript,
  ): Ending {
    return {
      status: turn.answer === '' ? 'error' : 'partial',
      noAnswer: false,
      final: { event: 'error', data: this.errorData(error, signal, input) },
    };
  }

  private errorData(error: unknown, signal: AbortSignal, input: ChatTurnInput): StreamErrorEvent {
    const { logger } = this.deps;
    if (signal.aborted) return { code: 'cancelled', message: 'The answer was stopped.' };
    if (error instanceof AnswerError) {
      logger.warn({ err: error, requestId: input.requestId }, 'answer model failed');
      return { code: error.code, message: READER_ANSWER_ERRORS[error.code], retryable: true };
    }
    const known = toAppError(error);
    if (known?.status === 503) {
      // A full queue or pool, or the database gone: the reader may simply ask again later.
      const retryAfterMs = Number(known.headers['Retry-After'] ?? 5) * 1000;
      return { code: known.code, message: known.message, retryable: true, retryAfterMs };
    }
    logger.error({ err: error, requestId: input.requestId }, 'chat turn failed');
    return {
      code: 'internal',
      message: 'Something went wrong while answering; please try again.',
      retryable: true,
    };
  }

  /**
   * Stores the exchange (its outcome recorded and counted once), then sends the last event: a
   * stored answer's `done` carries its message id and the reader's feedback token.
   */
  private async record(
    stream: ChatStream,
    input: ChatTurnInput,
    turn: Transcript,
    ending: Ending,
  ): Promise<void> {
    const { deps } = this;
    const { status, final } = ending;
    const outcome: AnswerOutcome =
      status === 'complete' ? (ending.noAnswer ? 'no_answer' : 'answered') : status;
    // Shared streams: another origin that took this answer over stores it, not this one.
    const fence = await stream.fence().catch(() => undefined);
    if (fence === null) {
      deps.logger.info(
        { requestId: input.requestId, streamId: stream.id },
        'chat turn not stored: another origin took the answer over',
      );
      return;
    }
    const messageId = await recordExchange(
      deps.db.pool,
      input.site.id,
      input.conversationId,
      input.message,
      {
        content: turn.answer,
        sources: turn.sources.map(({ text: _text, ...source }) => source),
        cited: turn.cited,
        status,
        log: { outcome, ttftMs: turn.ttftMs, latencyMs: turn.elapsedMs() },
      },
      turn.questionEmbedding,
      fence,
    ).catch((error: unknown) => {
      deps.logger.error({ err: error, requestId: input.requestId }, 'could not store the exchange');
      return null;
    });
    deps.metrics?.chatTurns.inc({ outcome: outcome === 'no_answer' ? 'no_answer' : status });
    // Only the reader holding this stream learns the token: it is what lets them vote on it.
    const stored = messageId !== null && final.event === 'done';
    const token = stored ? deps.feedbackTokens?.sign(messageId) : undefined;
    const data = stored
      ? { ...final.data, messageId, ...(token ? { feedbackToken: token } : {}) }
      : final.data;
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
        cache: turn.cache,
        status,
        tokens: turn.tokens,
        ms: turn.elapsedMs(),
      },
      'chat turn',
    );
    deps.logger.debug({ requestId: input.requestId, question: input.message }, 'chat question');
    stream.emit(final.event, data);
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
