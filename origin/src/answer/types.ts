/**
 * Answer generation: turns retrieved passages into a streamed answer that cites them as `[n]`.
 * Two implementations sit behind `AnswerGenerator`: an OpenAI-compatible chat model
 * (`openai-compatible.ts`) and, when no model is configured, an extractive one (`extractive.ts`).
 */

/** One retrieved passage the answer may cite, numbered from 1 in the order shown to the reader. */
export interface AnswerSource {
  n: number;
  title: string;
  url: string | null;
  headingPath: string[];
  text: string;
  /**
   * The rank the answer weighs this source by (0 is the best); its position by default. A
   * section read around the retrieved ones, which retrieval did not return, ranks lower.
   */
  rank?: number;
}

/** One earlier message of the conversation. */
export interface Turn {
  role: 'user' | 'assistant';
  content: string;
}

export interface AnswerRequest {
  question: string;
  sources: AnswerSource[];
  history: Turn[];
  /** Aborting it stops generation and any upstream request promptly. */
  signal: AbortSignal;
}

export interface AnswerGenerator {
  /** `openai-compatible:<model>` or `extractive-v2`. */
  readonly id: string;
  /**
   * Text deltas of the answer, citing sources as `[n]`. Throws `AnswerError` on upstream failure,
   * and the signal's reason when the request is aborted.
   */
  stream(request: AnswerRequest): AsyncIterable<string>;
  /**
   * Characters of the first source's document this generator also reads: the document's other
   * sections, when the whole document is that short (the value a question asks for is often one
   * heading away from the passage that matched). 0 or absent for a model whose prompt costs.
   */
  readonly documentChars?: number;
  /** A standalone search query from a follow-up and the last turns (may return the question unchanged). */
  condense(question: string, history: Turn[], signal: AbortSignal): Promise<string>;
}

export type AnswerErrorCode =
  | 'upstream_timeout'
  | 'upstream_error'
  | 'upstream_unavailable'
  | 'upstream_refused';

/**
 * What an anonymous reader is told for each failure. The error's own message names the provider
 * and repeats its words (which can carry an organisation, project or e-mail): it goes to the
 * logs, never to a reader.
 */
export const READER_ANSWER_ERRORS: Record<AnswerErrorCode, string> = {
  upstream_timeout: 'The answer took too long; please try again.',
  upstream_error: 'The answer could not be completed; please try again.',
  upstream_unavailable: 'The assistant is busy right now; please try again in a moment.',
  upstream_refused: 'The answer could not be produced; please try again.',
};

/** A failure of the answer model. The message has no secret, stack or raw body, but is for operators. */
export class AnswerError extends Error {
  readonly code: AnswerErrorCode;

  constructor(code: AnswerErrorCode, message: string) {
    super(message);
    this.name = 'AnswerError';
    this.code = code;
  }
}
