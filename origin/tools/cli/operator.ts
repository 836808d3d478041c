import type { LoggedQuestionJson } from '../../src/routes/questions/get.js';
import type { ApiClient } from './api-client.js';

type Write = (text: string) => void;

const OUTCOME_MARK: Record<string, string> = {
  answered: 'answered',
  no_answer: 'UNANSWERED',
  partial: 'partial',
  error: 'error',
};

/** One line, cut to `max` characters: the log is read in a terminal. */
function line(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** `rag questions <site> [--unanswered|--downvoted] [--limit N]`: the newest questions first. */
export async function questionsCommand(
  api: ApiClient,
  site: string,
  options: { filter: 'all' | 'unanswered' | 'downvoted'; limit: number },
  write: Write,
): Promise<number> {
  const { questions } = await api.request<{ questions: LoggedQuestionJson[] }>(
    'GET',
    `/api/v1/sites/${encodeURIComponent(site)}/questions?filter=${options.filter}&limit=${options.limit}`,
  );
  if (questions.length === 0) {
    write(options.filter === 'all' ? 'no questions yet\n' : `no ${options.filter} questions\n`);
    return 0;
  }
  for (const q of questions) {
    const vote =
      q.feedback === null
        ? ''
        : `  ${q.feedback.rating === 'down' ? '👎' : '👍'}${q.feedback.comment ? ` "${line(q.feedback.comment, 80)}"` : ''}`;
    write(`${q.askedAt.slice(0, 16).replace('T', ' ')}  ${OUTCOME_MARK[q.outcome]}${vote}\n`);
    write(`  Q: ${line(q.question, 100)}\n`);
    if (q.outcome !== 'no_answer') write(`  A: ${line(q.answer, 100)}\n`);
    if (q.cited.length > 0) write(`  cited: ${q.cited.map((c) => line(c.title, 40)).join('; ')}\n`);
  }
  return 0;
}

interface Group {
  question: string;
  count: number;
  unanswered: number;
  downvoted: number;
}

interface InsightsJson {
  days: number;
  outcomes: { total: Record<string, number> };
  ttftMs: { p50: number | null; p90: number | null; p99: number | null };
  feedback: { up: number; down: number };
  topQuestions: Group[];
  coverageGaps: Group[];
  mostCited: Array<{ title: string; count: number }>;
  neverCited: { total: number; documents: Array<{ title: string }> };
}

/** `rag insights <site> [--days N]`: the figures of the console's insights page, as text. */
export async function insightsCommand(
  api: ApiClient,
  site: string,
  days: number,
  write: Write,
): Promise<number> {
  const { insights: r } = await api.request<{ insights: InsightsJson }>(
    'GET',
    `/api/v1/sites/${encodeURIComponent(site)}/insights?days=${days}`,
  );
  const t = r.outcomes.total;
  const total = Object.values(t).reduce((a, b) => a + b, 0);
  const ms = (value: number | null) => (value === null ? '-' : `${value} ms`);
  write(`${site}, last ${r.days} days: ${total} questions\n`);
  write(
    `  answered ${t.answered}, unanswered ${t.no_answer}, partial ${t.partial}, error ${t.error}\n`,
  );
  write(
    `  time to first token: p50 ${ms(r.ttftMs.p50)}, p90 ${ms(r.ttftMs.p90)}, p99 ${ms(r.ttftMs.p99)}\n`,
  );
  write(`  votes: ${r.feedback.up} up, ${r.feedback.down} down\n`);
  const groups = (title: string, list: Group[]) => {
    write(`\n${title}\n`);
    if (list.length === 0) write('  (none)\n');
    for (const g of list) {
      const extra = [
        g.unanswered > 0 ? `${g.unanswered} unanswered` : '',
        g.downvoted > 0 ? `${g.downvoted} downvoted` : '',
      ].filter(Boolean);
      write(
        `  ${String(g.count).padStart(4)}×  ${line(g.question, 80)}${extra.length > 0 ? `  (${extra.join(', ')})` : ''}\n`,
      );
    }
  };
  groups('Top questions', r.topQuestions);
  groups('Coverage gaps (questions the documents could not answer)', r.coverageGaps);
  write('\nMost cited documents\n');
  if (r.mostCited.length === 0) write('  (none)\n');
  for (const d of r.mostCited) write(`  ${String(d.count).padStart(4)}×  ${line(d.title, 80)}\n`);
  write(`\nNever cited: ${r.neverCited.total} documents\n`);
  for (const d of r.neverCited.documents) write(`        ${line(d.title, 80)}\n`);
  return 0;
}
