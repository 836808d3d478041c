/**
 * Answers from any server that speaks OpenAI's chat-completions protocol (OpenAI, vLLM, llama.cpp,
 * Ollama, LiteLLM…), through the `openai` client with its own retries off so the rule is ours:
 * one retry when a request fails before its first token (connection refused, 429, 5xx), never
 * after a token was yielded, since the reader has already seen the text. `timeoutMs` bounds both
 * the wait for the first chunk and every gap between chunks; the time the consumer spends with a
 * delta is not counted.
 */
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import { buildAnswerMessages, type ChatMessage, lastTurns, truncate } from './prompt.js';
import { AnswerError, type AnswerGenerator, type AnswerRequest, type Turn } from './types.js';

export interface OpenAICompatibleOptions {
  /** e.g. `https://api.openai.com/v1` or `http://127.0.0.1:8000/v1`. */
  baseUrl: string;
  apiKey: string;
  model: string;
  /** Longest wait for the first chunk and between two chunks. */
  timeoutMs: number;
  maxTokens: number;
  temperature: number;
  /** Pause before the one retry when the server sends no `Retry-After` (obeyed up to 2 s). Default 250 ms. */
  retryDelayMs?: number;
}

/** A `Retry-After` longer than this is not waited for: the retry comes after this at most. */
const MAX_RETRY_DELAY_MS = 2_000;
const CONDENSE_TURNS = 6;
const CONDENSE_TURN_CHARS = 1_000;
const CONDENSE_MAX_TOKENS = 64;
const MAX_QUERY_CHARS = 500;

const CONDENSE_SYSTEM_PROMPT =
  'Rewrite the last question of the conversation as one standalone search query that can be understood without the conversation. Keep names and technical terms. Reply with the query only, no quotes, no explanation.';

/** The reason this generator gives when it aborts its own request for want of a chunk. */
class IdleTimeout extends Error {}

export class OpenAICompatibleGenerator implements AnswerGenerator {
  readonly id: string;
  readonly #client: OpenAI;
  readonly #options: OpenAICompatibleOptions;

  constructor(options: OpenAICompatibleOptions) {
    this.id = `openai-compatible:${options.model}`;
    this.#options = options;
    this.#client = new OpenAI({
      baseURL: options.baseUrl,
      apiKey: options.apiKey,
      maxRetries: 0,
      timeout: options.timeoutMs,
    });
  }

  async *stream(request: AnswerRequest): AsyncIterable<string> {
    const messages = buildAnswerMessages(request.question, request.sources, request.history);
    for (let attempt = 1; ; attempt += 1) {
      let yielded = false;
      try {
        for await (const delta of this.#attempt(messages, request.signal)) {
          yielded = true;
          yield delta;
        }
        return;
      } catch (error) {
        request.signal.throwIfAborted();
        if (yielded || attempt > 1 || !isRetryable(error)) throw this.#toAnswerError(error);
        await sleep(this.#retryDelay(error), request.signal);
      }
    }
  }

  async condense(question: string, history: Turn[], signal: AbortSignal): Promise<string> {
    const turns = lastTurns(history, CONDENSE_TURNS, CONDENSE_TURN_CHARS);
    if (turns.length === 0) return question;
    const conversation = [...turns, { role: 'user', content: truncate(question, 1_000) }]
      .map((turn) => `${turn.role}: ${turn.content}`)
      .join('\n\n');
    const timeout = AbortSignal.timeout(this.#options.timeoutMs);
    try {
      const completion = await this.#client.chat.completions.create(
        {
          model: this.#options.model,
          messages: [
            { role: 'system', content: CONDENSE_SYSTEM_PROMPT },
            { role: 'user', content: conversation },
          ],
          max_tokens: CONDENSE_MAX_TOKENS,
          temperature: 0,
        },
        { signal: AbortSignal.any([signal, timeout]) },
      );
      const query = (completion.choices[0]?.message.content ?? '')
        .replace(/\s+/g, ' ')
        .replace(/^["'“]+|["'”]+$/g, '')
        .trim();
      return query === '' ? question : truncate(query, MAX_QUERY_CHARS);
    } catch {
      return question;
    }
  }

  /** One request: its text deltas, or an error; aborted when done, timed out or `signal` fires. */
  async *#attempt(messages: ChatMessage[], signal: AbortSignal): AsyncGenerator<string> {
    const controller = new AbortController();
    const stop = () => controller.abort(signal.reason);
    signal.addEventListener('abort', stop, { once: true });
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      timer = setTimeout(() => controller.abort(new IdleTimeout()), this.#options.timeoutMs);
    };
    const disarm = () => clearTimeout(timer);
    try {
      signal.throwIfAborted();
      arm();
      const chunks = await this.#client.chat.completions.create(
        {
          model: this.#options.model,
          messages,
          stream: true,
          max_tokens: this.#options.maxTokens,
          temperature: this.#options.temperature,
        },
        { signal: controller.signal },
      );
      for await (const chunk of chunks) {
        const content = chunk.choices[0]?.delta?.content;
        if (!content) continue;
        disarm();
        yield content;
        arm();
      }
      // The client ends a stream quietly when its request is aborted.
      if (controller.signal.aborted) throw controller.signal.reason;
    } catch (error) {
      if (controller.signal.reason instanceof IdleTimeout) throw controller.signal.reason;
      throw error;
    } finally {
      disarm();
      signal.removeEventListener('abort', stop);
      controller.abort();
    }
  }

  #retryDelay(error: unknown): number {
    const base = this.#options.retryDelayMs ?? 250;
    const header = error instanceof APIError ? error.headers?.get('retry-after') : null;
    const seconds = header ? Number(header) : Number.NaN;
    if (!Number.isFinite(seconds) || seconds < 0) return base;
    return Math.min(seconds * 1_000, MAX_RETRY_DELAY_MS);
  }

  #toAnswerError(error: unknown): AnswerError {
    const upstream = `The language model at ${safeHost(this.#options.baseUrl)}`;
    if (error instanceof IdleTimeout || error instanceof APIConnectionTimeoutError) {
      return new AnswerError(
        'upstream_timeout',
        `${upstream} sent nothing for ${this.#options.timeoutMs} ms.`,
      );
    }
    if (error instanceof APIConnectionError) {
      return new AnswerError('upstream_unavailable', `${upstream} could not be reached.`);
    }
    if (error instanceof APIError && error.status !== undefined) {
      const detail = this.#redact(error.message);
      if (error.status === 429) {
        return new AnswerError('upstream_unavailable', `${upstream} is rate limiting: ${detail}`);
      }
      if (error.status >= 500) {
        return new AnswerError('upstream_error', `${upstream} failed: ${detail}`);
      }
      return new AnswerError('upstream_refused', `${upstream} refused the request: ${detail}`);
    }
    return new AnswerError('upstream_error', `${upstream} broke off the answer.`);
  }

  /** The upstream's own message, short, with the key and anything key-like masked. */
  #redact(message: string): string {
    const masked = message
      .split(this.#options.apiKey)
      .join('***')
      .replace(/\b(sk|pk|key|tok)[-_][\w-]{6,}/gi, '***');
    return truncate(masked.replace(/\s+/g, ' ').trim(), 200);
  }
}

/** Before the first token: a refused connection, a rate limit or a server error may pass. */
function isRetryable(error: unknown): boolean {
  if (error instanceof IdleTimeout || error instanceof APIConnectionTimeoutError) return false;
  if (error instanceof APIConnectionError) return true;
  if (error instanceof APIError && error.status !== undefined) {
    return error.status === 429 || error.status >= 500;
  }
  return false;
}

/** The host of the base URL, for messages: no path, no credentials. */
function safeHost(baseUrl: string): string {
  try {
    return new URL(baseUrl).host;
  } catch {
    return 'the configured address';
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', done);
      resolve();
    }, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
