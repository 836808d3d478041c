import type { QaQuestion } from './questions.js';

/** What the product said to one question, as the harness read it from the chat stream. */
export interface Reply {
  text: string;
  /** The pages the answer cites (each source's identity, `#anchor` dropped). */
  cited: string[];
  /** The product said it has no answer (`finishReason: no_answer`). */
  refused: boolean;
}

export type Verdict =
  | 'correct'
  | 'false_refusal'
  | 'missing_fact'
  | 'wrong_page'
  | 'answered_unanswerable';

/** Case-insensitive, and any run of whitespace counts as one space. */
export function normalize(text: string): string {
  return text.toLowerCase().replace(/\s+/g, ' ').trim();
}

/**
 * The answer as a reader sees it: the product's Markdown shows a backslash escape (`\[`, `\_`)
 * as the bare character outside code, so `string\[\]` reads `string[]`. Code (fenced or inline)
 * is shown as written. The facts are looked for in this text, as a reader would look for them.
 */
export function displayedText(markdown: string): string {
  return markdown
    .split(/(```[\s\S]*?```|`[^`\n]+`)/)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(/\\([\\`*_[\]()#|!])/g, '$1')))
    .join('');
}

/** A cited page as the set names pages: no anchor, no leading `./` or `/`. */
export function pageOf(source: string): string {
  return source.replace(/#.*$/, '').replace(/^\.?\//, '');
}

/**
 * The scoring rule of the QA sets: an answerable or follow-up question is correct when every
 * fact has one phrasing in the answer and one cited page is a right one; an unanswerable one is
 * correct when the product refuses. The verdict says which part failed.
 */
export function judge(question: QaQuestion, reply: Reply): Verdict {
  if (question.kind === 'unanswerable') return reply.refused ? 'correct' : 'answered_unanswerable';
  if (reply.refused) return 'false_refusal';
  const text = normalize(displayedText(reply.text));
  const facts = question.answers.every((phrasings) =>
    phrasings.some((phrasing) => text.includes(normalize(phrasing))),
  );
  if (!facts) return 'missing_fact';
  const right = new Set(question.sources.map(pageOf));
  return reply.cited.some((page) => right.has(pageOf(page))) ? 'correct' : 'wrong_page';
}

/** The figures the QA README asks for, from the verdicts of one run. */
export interface AnswerScores {
  answerable: number;
  answerableCorrect: number;
  falseRefusals: number;
  unanswerable: number;
  unanswerableRefused: number;
  /** Correct share of answerable + follow-up questions. */
  accuracy: number;
  falseRefusalRate: number;
  refusalAccuracy: number;
}

export function summarize(
  verdicts: ReadonlyArray<{ kind: QaQuestion['kind']; verdict: Verdict }>,
): AnswerScores {
  const asked = verdicts.filter((v) => v.kind !== 'unanswerable');
  const off = verdicts.filter((v) => v.kind === 'unanswerable');
  const share = (part: number, whole: number) => (whole === 0 ? 0 : part / whole);
  const answerableCorrect = asked.filter((v) => v.verdict === 'correct').length;
  const falseRefusals = asked.filter((v) => v.verdict === 'false_refusal').length;
  const unanswerableRefused = off.filter((v) => v.verdict === 'correct').length;
  return {
    answerable: asked.length,
    answerableCorrect,
    falseRefusals,
    unanswerable: off.length,
    unanswerableRefused,
    accuracy: share(answerableCorrect, asked.length),
    falseRefusalRate: share(falseRefusals, asked.length),
    refusalAccuracy: share(unanswerableRefused, off.length),
  };
}
