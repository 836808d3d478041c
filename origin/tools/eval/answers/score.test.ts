import { describe, expect, it } from 'vitest';
import type { QaQuestion } from './questions.js';
import { displayedText, judge, summarize } from './score.js';

const asked: QaQuestion = {
  id: 'q1',
  kind: 'answerable',
  question: 'default port?',
  answers: [['8787', 'eight thousand']],
  sources: ['api/run.md'],
};

describe('judge', () => {
  it('needs every fact (whitespace and case normalised) and one right page', () => {
    expect(judge(asked, { text: 'It is  8787.', cited: ['api/run.md#port'], refused: false })).toBe(
      'correct',
    );
    expect(judge(asked, { text: 'It is 8080.', cited: ['api/run.md'], refused: false })).toBe(
      'missing_fact',
    );
    expect(judge(asked, { text: 'It is 8787.', cited: ['other.md'], refused: false })).toBe(
      'wrong_page',
    );
    expect(judge(asked, { text: '', cited: [], refused: true })).toBe('false_refusal');
  });

  it('reads the answer as displayed: escapes shown bare outside code, kept inside it', () => {
    expect(displayedText('origin: string\\[\\] or a\\_b `x\\[1]`\n```\ny\\[0]\n```')).toBe(
      'origin: string[] or a_b `x\\[1]`\n```\ny\\[0]\n```',
    );
    const array = { ...asked, answers: [['string[]']] };
    expect(judge(array, { text: 'A string\\[\\].', cited: ['api/run.md'], refused: false })).toBe(
      'correct',
    );
  });

  it('wants a refusal for an unanswerable question', () => {
    const off = { ...asked, kind: 'unanswerable' as const, answers: [], sources: [] };
    expect(judge(off, { text: 'x', cited: [], refused: true })).toBe('correct');
    expect(judge(off, { text: 'x', cited: [], refused: false })).toBe('answered_unanswerable');
  });

  it('summarises accuracy, false refusals and refusals apart', () => {
    const scores = summarize([
      { kind: 'answerable', verdict: 'correct' },
      { kind: 'followup', verdict: 'false_refusal' },
      { kind: 'unanswerable', verdict: 'correct' },
      { kind: 'unanswerable', verdict: 'answered_unanswerable' },
    ]);
    expect(scores).toMatchObject({ accuracy: 0.5, falseRefusalRate: 0.5, refusalAccuracy: 0.5 });
  });
});
