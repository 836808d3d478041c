/**
 * The answer generator for machines without a language model: it quotes the sentences of the top
 * sources that share the most content words with the question, each followed by its citation,
 * and streams them word by word so the reader sees the same events as from a model. It cannot
 * paraphrase or combine; it can only point at the right sentences.
 */
import { COMMON_ENGLISH_WORDS } from '../embedders/common-words.js';
import { stem } from '../embedders/hash.js';
import { truncate } from './prompt.js';
import type { AnswerGenerator, AnswerRequest, AnswerSource, Turn } from './types.js';

export interface ExtractiveOptions {
  /** Sentences in an answer. Default 4. */
  maxSentences?: number;
  /** Sources read, the first ones. Default 5. */
  maxSources?: number;
}

export const NO_SOURCES_ANSWER = 'Nothing in the documents answers this question.';
/** Leads the answer when no sentence shares a word with the question. */
export const NO_DIRECT_ANSWER =
  'No sentence in the documents answers this directly; the closest passage says:';

const STOPWORDS: ReadonlySet<string> = new Set([...COMMON_ENGLISH_WORDS, 'can', 'about']);
/** Shorter sentences are headings or fragments; longer ones are cut. */
const MIN_SENTENCE_CHARS = 15;
const MAX_SENTENCE_CHARS = 500;
/** Each later source's sentences score this much less, so earlier sources win ties and near ties. */
const SOURCE_RANK_PENALTY = 0.1;
/** A question of at most this many words is read as a follow-up. */
const FOLLOW_UP_MAX_WORDS = 3;
const FOLLOW_UP_OPENERS =
  /^(?:and|also|what about|how about|then|so|but|it|its|it's|they|them|their|this|that|these|those|he|she|his|her|same)\b/i;

interface Candidate {
  n: number;
  sourceIndex: number;
  position: number;
  text: string;
  score: number;
}

export class ExtractiveGenerator implements AnswerGenerator {
  readonly id = 'extractive-v1';
  readonly #maxSentences: number;
  readonly #maxSources: number;

  constructor(options: ExtractiveOptions = {}) {
    this.#maxSentences = options.maxSentences ?? 4;
    this.#maxSources = options.maxSources ?? 5;
  }

  async *stream(request: AnswerRequest): AsyncIterable<string> {
    const answer = this.answer(request.question, request.sources);
    for (const delta of answer.split(/(?=\s)/)) {
      request.signal.throwIfAborted();
      yield delta;
    }
  }

  /** The whole answer as `stream` yields it. */
  answer(question: string, sources: readonly AnswerSource[]): string {
    if (sources.length === 0) return NO_SOURCES_ANSWER;
    const { sentences, direct } = this.#choose(question, sources.slice(0, this.#maxSources));
    if (sentences.length === 0) return NO_SOURCES_ANSWER;
    const quoted = sentences.map((sentence) => `${sentence.text} [${sentence.n}]`).join(' ');
    return direct ? quoted : `${NO_DIRECT_ANSWER} ${quoted}`;
  }

  async condense(question: string, history: Turn[], _signal: AbortSignal): Promise<string> {
    const previous = history.findLast((turn) => turn.role === 'user');
    if (!previous || !isFollowUp(question)) return question;
    const asked = new Set(contentWords(question).map(stem));
    const carried = contentWords(previous.content).filter((word) => !asked.has(stem(word)));
    const unique = [...new Set(carried)].slice(0, 12);
    return unique.length === 0 ? question : `${unique.join(' ')} ${question}`;
  }

  /** The best sentences, in source order; the opening of the first source when none match. */
  #choose(
    question: string,
    sources: readonly AnswerSource[],
  ): { sentences: Candidate[]; direct: boolean } {
    const terms = new Set(contentWords(question).map(stem));
    const candidates = sources.flatMap((source, sourceIndex) =>
      sentences(source.text).map((text, position) => {
        const words = new Set(contentWords(text).map(stem));
        const overlap = [...terms].filter((term) => words.has(term)).length;
        const score = overlap === 0 ? 0 : overlap - SOURCE_RANK_PENALTY * sourceIndex;
        return { n: source.n, sourceIndex, position, text, score };
      }),
    );
    const seen = new Set<string>();
    const distinct = candidates.filter((candidate) => {
      const key = candidate.text.toLowerCase().replace(/\s+/g, ' ');
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    const matching = distinct.filter((candidate) => candidate.score > 0);
    const picked =
      matching.length > 0
        ? [...matching].sort((a, b) => b.score - a.score).slice(0, this.#maxSentences)
        : distinct.filter((candidate) => candidate.sourceIndex === 0).slice(0, 2);
    picked.sort((a, b) => a.sourceIndex - b.sourceIndex || a.position - b.position);
    return { sentences: picked, direct: matching.length > 0 };
  }
}

/** Sentences of a passage: lines first (headings, list items), then sentence boundaries. */
function sentences(text: string): string[] {
  const segmenter = new Intl.Segmenter('en', { granularity: 'sentence' });
  return text
    .split(/\n+/)
    .flatMap((line) => [...segmenter.segment(line)].map((part) => part.segment))
    .map((sentence) => sentence.replace(/\s+/g, ' ').trim())
    .filter((sentence) => sentence.length >= MIN_SENTENCE_CHARS)
    .map((sentence) => truncate(sentence, MAX_SENTENCE_CHARS));
}

/** Lowercased words that are not function words, in order, repeats kept. */
function contentWords(text: string): string[] {
  return (
    text
      .normalize('NFKC')
      .toLowerCase()
      .match(/[\p{L}\p{N}]+/gu) ?? []
  ).filter((word) => !STOPWORDS.has(word));
}

function isFollowUp(question: string): boolean {
  const trimmed = question.trim();
  return trimmed.split(/\s+/).length <= FOLLOW_UP_MAX_WORDS || FOLLOW_UP_OPENERS.test(trimmed);
}
