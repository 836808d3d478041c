import type pg from 'pg';
import type { AnswerOutcome } from './conversations.js';
import type { Rating } from './feedback.js';

export type QuestionFilter = 'all' | 'unanswered' | 'downvoted';

/** One reader question with its answer, as the operator's log shows it. */
export interface LoggedQuestion {
  messageId: string;
  conversationId: string;
  question: string;
  answer: string;
  outcome: AnswerOutcome;
  /** The sources the answer cited (title, url, and the document's id when it was recorded). */
  cited: Array<{ n: number; title: string; url: string | null; documentId: string | null }>;
  ttftMs: number | null;
  feedback: { rating: Rating; comment: string | null; updatedAt: Date } | null;
  askedAt: Date;
}

/** Answers stored before outcomes were recorded read as their status. */
export const OUTCOME_SQL = `coalesce(a.outcome, case a.status when 'complete' then 'answered' else a.status end)`;

const FILTERS: Record<QuestionFilter, string> = {
  all: 'true',
  unanswered: `${OUTCOME_SQL} = 'no_answer'`,
  downvoted: `f.rating = 'down'`,
};

interface Row {
  id: string;
  conversation_id: string;
  question: string | null;
  answer: string;
  outcome: AnswerOutcome;
  sources: Array<{ n: number; title: string; url?: string | null; documentId?: string }> | null;
  cited: number[] | null;
  ttft_ms: number | null;
  rating: Rating | null;
  comment: string | null;
  feedback_at: Date | null;
  created_at: Date;
}

/**
 * A site's questions, newest first: `limit` of them before the answer id `before` (the cursor of
 * the previous page) and since `since`. Each answer is joined to the question just before it.
 */
export async function listQuestions(
  db: pg.Pool,
  siteId: number,
  options: { filter: QuestionFilter; since?: Date; before?: string; limit: number },
): Promise<LoggedQuestion[]> {
  const { rows } = await db.query<Row>(
    `select a.id, a.conversation_id, q.content as question, a.content as answer,
            ${OUTCOME_SQL} as outcome, a.sources, a.cited, a.ttft_ms,
            f.rating, f.comment, f.updated_at as feedback_at, a.created_at
       from messages a
       join conversations c on c.id = a.conversation_id
       left join lateral (
         select u.content from messages u
          where u.conversation_id = a.conversation_id and u.id < a.id and u.role = 'user'
          order by u.id desc limit 1
       ) q on true
       left join feedback f on f.message_id = a.id
      where c.site_id = $1 and a.role = 'assistant'
        and ($2::timestamptz is null or a.created_at >= $2)
        and ($3::bigint is null or a.id < $3)
        and ${FILTERS[options.filter]}
      order by a.id desc
      limit $4`,
    [siteId, options.since ?? null, options.before ?? null, options.limit],
  );
  return rows.map(toLogged);
}

function toLogged(row: Row): LoggedQuestion {
  const cited = new Set(row.cited ?? []);
  return {
    messageId: String(row.id),
    conversationId: row.conversation_id,
    question: row.question ?? '',
    answer: row.answer,
    outcome: row.outcome,
    cited: (row.sources ?? [])
      .filter((source) => cited.has(source.n))
      .map((source) => ({
        n: source.n,
        title: source.title,
        url: source.url ?? null,
        documentId: source.documentId === undefined ? null : String(source.documentId),
      })),
    ttftMs: row.ttft_ms,
    feedback:
      row.rating === null
        ? null
        : { rating: row.rating, comment: row.comment, updatedAt: row.feedback_at! },
    askedAt: row.created_at,
  };
}
