import { api, sitePath } from '../api.js';
import type { PageContext } from '../context.js';
import { h, svg } from '../dom.js';

type Outcome = 'answered' | 'no_answer' | 'partial' | 'error';
interface Group {
  question: string;
  count: number;
  unanswered: number;
  downvoted: number;
  examples: string[];
}
interface Insights {
  days: number;
  outcomes: {
    total: Record<Outcome, number>;
    byDay: Array<{ day: string } & Record<Outcome, number>>;
  };
  ttftMs: { p50: number | null; p90: number | null; p99: number | null; count: number };
  feedback: { up: number; down: number };
  topQuestions: Group[];
  coverageGaps: Group[];
  mostCited: Array<{ title: string; count: number }>;
  neverCited: { total: number; documents: Array<{ title: string; source: string }> };
}

/** The period shown; kept while the console is open. */
let days = 30;

const OUTCOMES: Array<[Outcome, string]> = [
  ['answered', 'answered'],
  ['no_answer', 'unanswered'],
  ['partial', 'cut short'],
  ['error', 'failed'],
];

/** Insights: outcomes per day, TTFT, votes, question groups, coverage gaps and citations. */
export async function insightsPage(ctx: PageContext): Promise<Node> {
  const site = ctx.site!;
  const { insights: r } = await api<{ insights: Insights }>(
    'GET',
    sitePath(site.name, `/insights?days=${days}`),
  );
  const total = OUTCOMES.reduce((sum, [o]) => sum + r.outcomes.total[o], 0);
  const ms = (value: number | null) => (value === null ? '–' : `${value} ms`);
  const period = h(
    'select',
    { id: 'insights-days' },
    ...[7, 30, 90, 365].map((n) => h('option', { value: n, selected: n === days }, `${n} days`)),
  );
  period.addEventListener('change', () => {
    days = Number(period.value);
    void ctx.reload();
  });
  return h(
    'div',
    { class: 'grid' },
    h('div', { class: 'picker wide' }, h('label', { for: 'insights-days' }, 'Period'), period),
    h(
      'section',
      { class: 'card wide', 'aria-labelledby': 'outcomes-title' },
      h('h2', { id: 'outcomes-title' }, `Questions in the last ${r.days} days: ${total}`),
      h(
        'ul',
        { class: 'legend' },
        ...OUTCOMES.map(([o, label]) =>
          h('li', { class: `key ${o}` }, `${r.outcomes.total[o]} ${label}`),
        ),
      ),
      dayChart(r),
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'ttft-title' },
      h('h2', { id: 'ttft-title' }, 'Time to first token'),
      h(
        'dl',
        { class: 'figures' },
        ...[
          ['p50', r.ttftMs.p50],
          ['p90', r.ttftMs.p90],
          ['p99', r.ttftMs.p99],
        ].flatMap(([k, v]) => [h('dt', {}, String(k)), h('dd', {}, ms(v as number | null))]),
      ),
      h('p', { class: 'muted' }, `over ${r.ttftMs.count} answers`),
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'votes-title' },
      h('h2', { id: 'votes-title' }, 'Votes'),
      h(
        'dl',
        { class: 'figures' },
        h('dt', {}, 'Up'),
        h('dd', {}, r.feedback.up),
        h('dt', {}, 'Down'),
        h('dd', {}, r.feedback.down),
      ),
    ),
    groups('top-questions', 'Top questions', r.topQuestions, 'count'),
    groups('coverage-gaps', 'Coverage gaps', r.coverageGaps, 'unanswered'),
    bars(
      'most-cited',
      'Most cited documents',
      r.mostCited.map((d) => [d.title, d.count]),
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'never-cited-title' },
      h('h2', { id: 'never-cited-title' }, `Never cited: ${r.neverCited.total}`),
      r.neverCited.total === 0
        ? h('p', {}, 'Every document was cited at least once.')
        : h(
            'ul',
            { id: 'never-cited' },
            ...r.neverCited.documents.map((d) => h('li', {}, d.title)),
          ),
    ),
  );
}

/** Answers per day, stacked by outcome; screen readers get the same figures as a sentence. */
function dayChart(r: Insights): Element {
  const width = 640;
  const height = 140;
  const max = Math.max(1, ...r.outcomes.byDay.map((d) => OUTCOMES.reduce((s, [o]) => s + d[o], 0)));
  const slot = width / Math.max(r.outcomes.byDay.length, 7);
  const summary = r.outcomes.byDay
    .map((d) => `${d.day}: ${OUTCOMES.map(([o, label]) => `${d[o]} ${label}`).join(', ')}`)
    .join('; ');
  const chart = svg('svg', {
    viewBox: `0 0 ${width} ${height + 20}`,
    role: 'img',
    'aria-label': summary === '' ? 'No questions in this period.' : `Questions per day. ${summary}`,
    class: 'chart',
  });
  r.outcomes.byDay.forEach((d, i) => {
    let y = height;
    for (const [o] of OUTCOMES) {
      const barHeight = (d[o] / max) * height;
      if (barHeight === 0) continue;
      y -= barHeight;
      chart.append(
        svg('rect', { x: i * slot + 4, y, width: slot - 8, height: barHeight, class: `bar ${o}` }),
      );
    }
    const label = svg('text', {
      x: i * slot + slot / 2,
      y: height + 15,
      'text-anchor': 'middle',
      class: 'axis',
    });
    label.textContent = d.day.slice(5);
    chart.append(label);
  });
  return chart;
}

function groups(
  id: string,
  title: string,
  list: Group[],
  measure: 'count' | 'unanswered',
): HTMLElement {
  const max = Math.max(1, ...list.map((g) => g[measure]));
  return h(
    'section',
    { class: 'card', 'aria-labelledby': `${id}-title` },
    h('h2', { id: `${id}-title` }, title),
    list.length === 0
      ? h('p', {}, measure === 'unanswered' ? 'No unanswered questions.' : 'No questions yet.')
      : h(
          'ol',
          { class: 'groups', id },
          ...list.map((g) =>
            h(
              'li',
              {},
              h('span', { class: 'group-q' }, g.question),
              meter(g[measure], max),
              h(
                'span',
                { class: 'muted' },
                `${g.count} asked${g.unanswered > 0 ? `, ${g.unanswered} unanswered` : ''}${g.downvoted > 0 ? `, ${g.downvoted} downvoted` : ''}`,
              ),
              g.examples.length > 1
                ? h('span', { class: 'muted examples' }, `Also: ${g.examples.slice(1).join(' · ')}`)
                : null,
            ),
          ),
        ),
  );
}

function bars(id: string, title: string, rows: Array<[string, number]>): HTMLElement {
  const max = Math.max(1, ...rows.map(([, n]) => n));
  return h(
    'section',
    { class: 'card', 'aria-labelledby': `${id}-title` },
    h('h2', { id: `${id}-title` }, title),
    rows.length === 0
      ? h('p', {}, 'Nothing cited yet.')
      : h(
          'ol',
          { class: 'groups', id },
          ...rows.map(([label, n]) =>
            h(
              'li',
              {},
              h('span', {}, label),
              meter(n, max),
              h('span', { class: 'muted' }, `${n} citations`),
            ),
          ),
        ),
  );
}

/** A small horizontal bar; its value is read out by the text next to it. */
function meter(value: number, max: number): Element {
  return svg(
    'svg',
    { viewBox: '0 0 100 6', class: 'meter', 'aria-hidden': 'true', preserveAspectRatio: 'none' },
    svg('rect', {
      x: 0,
      y: 0,
      width: Math.max(2, (value / max) * 100),
      height: 6,
      class: 'bar answered',
    }),
  );
}
