import { api, sitePath } from '../api.js';
import type { PageContext } from '../context.js';
import { h, when } from '../dom.js';

interface Question {
  messageId: string;
  question: string;
  answer: string;
  outcome: 'answered' | 'no_answer' | 'error' | 'partial';
  cited: Array<{ n: number; title: string; url: string | null }>;
  ttftMs: number | null;
  feedback: { rating: 'up' | 'down'; comment: string | null } | null;
  askedAt: string;
}

const FILTERS = [
  ['all', 'All'],
  ['unanswered', 'Unanswered'],
  ['downvoted', 'Downvoted'],
] as const;

const OUTCOME_LABEL: Record<Question['outcome'], string> = {
  answered: 'Answered',
  no_answer: 'Unanswered',
  partial: 'Cut short',
  error: 'Failed',
};

/** The questions log: what readers asked, what they got, and what they thought of it. */
export async function questionsPage(ctx: PageContext): Promise<Node> {
  const site = ctx.site!;
  const wanted = new URLSearchParams(location.search).get('filter');
  let filter: string = FILTERS.some(([f]) => f === wanted) ? wanted! : 'all';
  const list = h('ol', { class: 'questions', 'aria-live': 'polite', id: 'question-list' });
  const more = h('button', { type: 'button', class: 'secondary' }, 'Load more');
  let before: string | null = null;
  // Only the latest request draws: a slow page of another filter must not land after it.
  let latest = 0;
  const load = async (reset: boolean) => {
    const query = new URLSearchParams({ filter, limit: '50' });
    if (!reset && before !== null) query.set('before', before);
    const ticket = ++latest;
    const page = await api<{ questions: Question[]; nextBefore: string | null }>(
      'GET',
      sitePath(site.name, `/questions?${query}`),
    );
    if (ticket !== latest) return;
    if (reset) list.replaceChildren();
    list.append(...page.questions.map(entry));
    if (reset && page.questions.length === 0)
      list.append(h('li', { class: 'empty' }, 'No questions here yet.'));
    before = page.nextBefore;
    more.hidden = before === null;
  };
  more.addEventListener('click', () => void load(false));
  const radios = h(
    'fieldset',
    { class: 'filters' },
    h('legend', {}, 'Show'),
    ...FILTERS.map(([value, label]) => {
      const input = h('input', {
        type: 'radio',
        name: 'filter',
        value,
        id: `filter-${value}`,
        checked: value === filter,
      });
      input.addEventListener('change', () => {
        filter = value;
        void load(true);
      });
      return h('label', { for: `filter-${value}`, class: 'radio' }, input, ` ${label}`);
    }),
  );
  await load(true);
  return h('div', { class: 'stack' }, radios, list, more);
}

function entry(q: Question): HTMLElement {
  const vote =
    q.feedback === null
      ? null
      : h(
          'p',
          { class: `vote ${q.feedback.rating}` },
          q.feedback.rating === 'down' ? 'Voted down' : 'Voted up',
          q.feedback.comment ? `: “${q.feedback.comment}”` : '',
        );
  return h(
    'li',
    {
      class: `question ${q.outcome}`,
      'data-outcome': q.outcome,
      'data-rating': q.feedback?.rating,
    },
    h(
      'div',
      { class: 'meta' },
      h('span', { class: `badge ${q.outcome}` }, OUTCOME_LABEL[q.outcome]),
      h('time', { datetime: q.askedAt }, when(q.askedAt)),
      q.ttftMs === null ? null : h('span', { class: 'muted' }, `first token ${q.ttftMs} ms`),
    ),
    h('p', { class: 'asked' }, q.question),
    vote,
    h(
      'details',
      {},
      h('summary', {}, 'Answer'),
      h('p', { class: 'answer' }, q.answer),
      q.cited.length === 0
        ? null
        : h('p', { class: 'muted' }, `Cited: ${q.cited.map((c) => c.title).join('; ')}`),
    ),
  );
}
