/**
 * The answer generator for machines without a language model. It chooses the passage of the
 * retrieved sources that best answers the question, at block level (a paragraph, a list item, a
 * code block, a table row with its header), and quotes it whole under its heading, with its
 * citation: "From *Title › Heading*: …". A code block keeps the sentence that introduces it and
 * a sentence ending in ":" keeps the code it introduces, so a command or value is never cut off.
 * It cannot paraphrase or combine; it can only point at the right passage.
 */
import { withinEdits } from '../retrieval/edit-distance.js';
import { type Passage, passagesOf, sequenceOf, synonymsOf, termsOf } from './passages.js';
import { neutralizeCode, neutralizeQuote } from './quote.js';
import type { AnswerGenerator, AnswerRequest, AnswerSource, Turn } from './types.js';

export interface ExtractiveOptions {
  /** Passages quoted at most. Default 2. */
  maxPassages?: number;
  /** Sources read: those ranked (by `rank`, else position) under this. Default 6. */
  maxSources?: number;
}

export const NO_SOURCES_ANSWER = 'Nothing in the documents answers this question.';
/** Leads the answer when no passage shares a word with the question. */
export const NO_DIRECT_ANSWER =
  'No passage in the documents answers this directly; the closest one says:';

/** Each later source's passages score this share less, so earlier sources win near ties. */
const SOURCE_RANK_PENALTY = 0.15;
/** BM25's saturation and length normalisation, with a term counted once per passage. */
const K1 = 1.2;
const B = 0.75;
/** A heading's words count this much of a passage's own words: they say what it is about. */
const HEADING_WEIGHT = 0.6;
/** Words of the previous question count this much in a follow-up: its subject, not its ask. */
const CARRIED_WEIGHT = 0.35;
/** A second passage is quoted only when it scores this close to the first. */
const SECOND_PASSAGE_SHARE = 0.35;
/** Longest passage quoted; longer prose is cut at a sentence, longer code at a line. */
const MAX_PASSAGE_CHARS = 900;
/** Sentences that open by pointing back at what came before them. */
const POINTS_BACK = /^(?:this|that|these|those|the above|here|above)\b/i;
/** Items of a list quoted after the sentence that introduces it. */
const MAX_LIST_ITEMS = 8;
/** A synonym of a question's verb counts this much of the verb itself. */
const SYNONYM_WEIGHT = 0.8;
/** Two consecutive question terms this close, in order, in a passage earn a bonus. */
const PAIR_WINDOW = 3;
/** The bonus: this share of the pair's mean IDF. */
const PAIR_WEIGHT = 0.5;
/** Code without a sentence to say what it does rarely answers a question by itself. */
const BARE_CODE_WEIGHT = 0.6;

interface Scored {
  source: AnswerSource;
  sourceIndex: number;
  passage: Passage;
  neighbours: Passage[];
  score: number;
}

/** The top document is read whole up to this size: an options page or a short guide. */
const DOCUMENT_CHARS = 12_000;

export class ExtractiveGenerator implements AnswerGenerator {
  readonly id = 'extractive-v2';
  readonly documentChars = DOCUMENT_CHARS;
  readonly #maxPassages: number;
  readonly #maxSources: number;

  constructor(options: ExtractiveOptions = {}) {
    this.#maxPassages = options.maxPassages ?? 3;
    this.#maxSources = options.maxSources ?? 6;
  }

  async *stream(request: AnswerRequest): AsyncIterable<string> {
    const answer = this.answer(request.question, request.sources, request.history);
    for (const delta of answer.split(/(?=\s)/)) {
      request.signal.throwIfAborted();
      yield delta;
    }
  }

  /** The whole answer as `stream` yields it. */
  answer(
    question: string,
    sources: readonly AnswerSource[],
    history: readonly Turn[] = [],
  ): string {
    if (sources.length === 0) return NO_SOURCES_ANSWER;
    const weights = questionWeights(question, history);
    const read = sources.filter((source, i) => (source.rank ?? i) < this.#maxSources);
    const ranked = rank(read, weights, questionPairs(question));
    if (ranked.length === 0) return NO_SOURCES_ANSWER;
    const best = ranked[0]!;
    if (best.score <= 0) return `${NO_DIRECT_ANSWER}\n\n${quote(best)}`;
    const chosen = [best];
    for (const next of ranked.slice(1)) {
      if (chosen.length >= this.#maxPassages || next.score < SECOND_PASSAGE_SHARE * best.score)
        break;
      const overlaps = (c: Scored) =>
        c.source === next.source &&
        quoted(c.passage, c.neighbours).some((p) =>
          quoted(next.passage, next.neighbours).includes(p),
        );
      if (chosen.some(overlaps)) continue;
      chosen.push(next);
    }
    return chosen.map(quote).join('\n\n');
  }

  async condense(question: string, history: Turn[], _signal: AbortSignal): Promise<string> {
    const previous = history.findLast((turn) => turn.role === 'user');
    if (!previous) return question;
    // A follow-up keeps the previous question's subject whatever its length: "which port does
    // it open on?" means nothing to a search without it. The question's own words lead.
    const asked = new Set(termsOf(question));
    const words = previous.content.match(/[\p{L}\p{N}_$.-]+/gu) ?? [];
    const carried = words.filter((word) => {
      const terms = termsOf(word);
      return terms.length > 0 && terms.every((term) => !asked.has(term));
    });
    const unique = [...new Set(carried)].slice(0, 12);
    return unique.length === 0 ? question : `${question} ${unique.join(' ')}`;
  }
}

/** The question's terms, weighted; a follow-up also carries its previous question's, lighter. */
function questionWeights(question: string, history: readonly Turn[]): Map<string, number> {
  const weights = new Map<string, number>();
  const previous = history.findLast((turn) => turn.role === 'user');
  if (previous) for (const term of sequenceOf(previous.content)) weights.set(term, CARRIED_WEIGHT);
  const own = sequenceOf(question);
  for (const term of own)
    for (const synonym of synonymsOf(term))
      weights.set(synonym, Math.max(weights.get(synonym) ?? 0, SYNONYM_WEIGHT));
  for (const term of own) weights.set(term, 1);
  return weights;
}

/** Consecutive terms of the question, as pairs a passage may hold close together, in order. */
function questionPairs(question: string): Array<[string, string]> {
  const sequence = sequenceOf(question);
  const pairs: Array<[string, string]> = [];
  for (let i = 1; i < sequence.length; i++)
    if (sequence[i - 1] !== sequence[i]) pairs.push([sequence[i - 1]!, sequence[i]!]);
  return pairs;
}

/** Whether `first` occurs at most PAIR_WINDOW terms before `second` in the passage. */
function together(positions: Map<string, number[]>, first: string, second: string): boolean {
  const after = positions.get(second);
  if (after === undefined) return false;
  return (positions.get(first) ?? []).some((at) =>
    after.some((next) => next > at && next - at <= PAIR_WINDOW),
  );
}

/** Every passage of the sources, scored, best first. */
function rank(
  sources: readonly AnswerSource[],
  asked: Map<string, number>,
  pairs: ReadonlyArray<[string, string]>,
): Scored[] {
  let weights = asked;
  const all = sources.flatMap((source, sourceIndex) => {
    const passages = passagesOf(source.text);
    const heading = new Set(sequenceOf([source.title, ...source.headingPath].join(' ')));
    return passages.map((passage) => {
      const sequence = sequenceOf(
        quoted(passage, passages)
          .map((p) => p.text)
          .join('\n'),
      );
      const positions = new Map<string, number[]>();
      for (const [at, term] of sequence.entries())
        positions.set(term, [...(positions.get(term) ?? []), at]);
      return {
        source,
        sourceIndex,
        passage,
        neighbours: passages,
        heading,
        terms: new Set(sequence),
        positions,
      };
    });
  });
  // Rarer words among the passages at hand tell more: a word in every passage tells nothing.
  const df = new Map<string, number>();
  for (const { terms } of all) for (const term of terms) df.set(term, (df.get(term) ?? 0) + 1);
  for (const { heading } of all) for (const term of heading) if (!df.has(term)) df.set(term, 0);
  weights = withMisspellings(weights, df);
  const idf = (term: string) => Math.log(1 + (all.length + 1) / ((df.get(term) ?? 0) + 0.5));
  // A long passage meets more of the question's words by chance: normalise as BM25 does.
  const average = all.reduce((sum, item) => sum + item.terms.size, 0) / Math.max(1, all.length);
  const scored = all.map((item) => {
    const norm = (K1 + 1) / (1 + K1 * (1 - B + (B * item.terms.size) / Math.max(1, average)));
    let score = 0;
    for (const [term, weight] of weights) {
      if (item.terms.has(term)) score += weight * idf(term) * norm;
      else if (item.heading.has(term)) score += HEADING_WEIGHT * weight * idf(term);
    }
    // Words that meet as the question put them ("server-sent events") say more than scattered ones.
    for (const [first, second] of pairs)
      if (together(item.positions, first, second))
        score += (PAIR_WEIGHT * (idf(first) + idf(second)) * norm) / 2;
    const own = [...weights].some(
      ([term, weight]) => weight >= SYNONYM_WEIGHT && item.terms.has(term),
    );
    const bare = isBareCode(item.passage, item.neighbours);
    return {
      source: item.source,
      sourceIndex: item.sourceIndex,
      passage: item.passage,
      neighbours: item.neighbours,
      score:
        score *
        (own ? 1 - SOURCE_RANK_PENALTY * (item.source.rank ?? item.sourceIndex) : 0.5) *
        (bare ? BARE_CODE_WEIGHT : 1),
    };
  });
  return scored.sort(
    (a, b) =>
      b.score - a.score || a.sourceIndex - b.sourceIndex || a.passage.block - b.passage.block,
  );
}

/** Words this long may be misspelt by one edit, and this long by two (as the relevance gate). */
const MIN_TYPO_LENGTH = 5;
const MIN_TWO_TYPOS_LENGTH = 9;

/**
 * The weights with each question word that no passage has ("adress") also given to the word of
 * the passages one edit from it ("address"): readers type fast, and search already forgave it.
 */
function withMisspellings(
  weights: Map<string, number>,
  vocabulary: Map<string, number>,
): Map<string, number> {
  const out = new Map(weights);
  for (const [term, weight] of weights) {
    if (vocabulary.has(term) || term.length < MIN_TYPO_LENGTH || /\d/.test(term)) continue;
    const limit = term.length >= MIN_TWO_TYPOS_LENGTH ? 2 : 1;
    for (const known of vocabulary.keys()) {
      if (known.length >= MIN_TYPO_LENGTH - 1 && withinEdits(term, known, limit)) {
        out.set(known, Math.max(out.get(known) ?? 0, weight));
        break;
      }
    }
  }
  return out;
}

/**
 * Code with no sentence before it to say what it does: code that follows other code, a list or
 * a table. Code that opens its section is introduced by the section's heading.
 */
function isBareCode(passage: Passage, neighbours: readonly Passage[]): boolean {
  if (passage.kind !== 'code') return false;
  const before = neighbours[neighbours.indexOf(passage) - 1];
  return before !== undefined && before.kind !== 'prose';
}

/**
 * What is quoted for a passage: a code block with the sentence that introduces it, a sentence
 * ending in ":" with the code or list it introduces, a sentence that opens by pointing back
 * ("This creates…") with the code it explains, anything else alone.
 */
function quoted(passage: Passage, neighbours: readonly Passage[]): Passage[] {
  const at = neighbours.indexOf(passage);
  const before = neighbours[at - 1];
  const after = neighbours[at + 1];
  if (passage.kind === 'code') return before?.kind === 'prose' ? [before, passage] : [passage];
  if (passage.kind === 'prose' && /:\s*$/.test(passage.text) && after !== undefined) {
    if (after.kind === 'code') return [passage, after];
    if (after.kind === 'item') return [passage, ...blockOf(after, neighbours)];
  }
  if (passage.kind === 'prose' && POINTS_BACK.test(passage.text) && before?.kind === 'code')
    return [before, passage];
  return [passage];
}

/**
 * What is shown for a passage: what it is scored with, and the code block right after a sentence
 * that ends it, colon or not ("Example of redirecting … ."): the command is what the reader came
 * for, and the sentence before it says which one it is. Prose that shows no code (an explanation
 * of a limit or a failure) also shows the next sentence when that one introduces code ("…, you
 * need to set the limit as well:" then the code): what to do about it.
 */
function shown(passage: Passage, neighbours: readonly Passage[]): Passage[] {
  const parts = quoted(passage, neighbours);
  const last = parts[parts.length - 1]!;
  const at = neighbours.indexOf(last);
  const after = neighbours[at + 1];
  if (last.kind === 'prose' && after?.kind === 'code') return [...parts, after];
  const then = neighbours[at + 2];
  if (
    last.kind === 'prose' &&
    !parts.some((p) => p.kind === 'code') &&
    after?.kind === 'prose' &&
    /:\s*$/.test(after.text) &&
    then?.kind === 'code'
  )
    return [...parts, after, then];
  return parts;
}

/** The passages of the same block as `passage` (the items of one list), at most a few. */
function blockOf(passage: Passage, neighbours: readonly Passage[]): Passage[] {
  return neighbours.filter((p) => p.block === passage.block).slice(0, MAX_LIST_ITEMS);
}

/** The passage under its heading, with what introduces it or what it introduces, cited. */
function quote(item: Scored): string {
  const { passage, neighbours, source } = item;
  const parts = shown(passage, neighbours);
  const where = [source.title, ...source.headingPath.filter((h) => h !== source.title)].join(' › ');
  const body = parts.map(render).join('\n\n');
  return `From *${neutralizeQuote(where).replace(/\*/g, '\\*')}*:\n\n${body} [${source.n}]`;
}

function render(passage: Passage): string {
  if (passage.kind === 'code')
    return `\`\`\`${passage.lang ?? ''}\n${neutralizeCode(cut(passage.text, '\n'))}\n\`\`\``;
  if (passage.kind === 'row') return neutralizeQuote(passage.text);
  return neutralizeQuote(cut(passage.text, '. '));
}

/** At most MAX_PASSAGE_CHARS, cut after the last whole sentence or line that fits. */
function cut(text: string, boundary: string): string {
  if (text.length <= MAX_PASSAGE_CHARS) return text;
  const head = text.slice(0, MAX_PASSAGE_CHARS);
  const end = head.lastIndexOf(boundary);
  return `${end > MAX_PASSAGE_CHARS / 3 ? head.slice(0, end + boundary.length - 1) : head}…`;
}
