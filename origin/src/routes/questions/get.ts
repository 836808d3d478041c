import type { Hono } from 'hono';
import { z } from 'zod';
import { MessageId } from '../../../../contract/requests.js';
import type { AppEnv } from '../../app-env.js';
import { parseWith } from '../../lib/validate.js';
import type { Services } from '../../services.js';
import { type LoggedQuestion, listQuestions } from '../../store/questions.js';
import { getSite } from '../../store/sites.js';
import { SiteName } from '../schemas.js';

export const QuestionsQuery = z
  .object({
    filter: z.enum(['all', 'unanswered', 'downvoted']).default('all'),
    since: z.iso.datetime({ offset: true, error: 'must be an ISO date-time' }).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    before: MessageId.optional(),
  })
  .strict();

/** One entry of the log as the API sends it. */
export type LoggedQuestionJson = ReturnType<typeof questionJson>;

/** One entry of the log as JSON. */
export function questionJson(q: LoggedQuestion) {
  return {
    messageId: q.messageId,
    conversationId: q.conversationId,
    question: q.question,
    answer: q.answer,
    outcome: q.outcome,
    cited: q.cited,
    ttftMs: q.ttftMs,
    feedback:
      q.feedback === null ? null : { ...q.feedback, updatedAt: q.feedback.updatedAt.toISOString() },
    askedAt: q.askedAt.toISOString(),
  };
}

/**
 * `GET /api/v1/sites/:site/questions?filter=all|unanswered|downvoted&since=&limit=&before=`
 * (admin): readers' questions with their answer, outcome, cited documents and feedback, newest
 * first; `nextBefore` is the cursor of the next page (null on the last).
 */
export function registerGetQuestions(app: Hono<AppEnv>, services: Services): void {
  app.get('/:site/questions', async (c) => {
    const site = await getSite(services.db.pool, parseWith(SiteName, c.req.param('site'), 'site'));
    const query = parseWith(QuestionsQuery, c.req.query(), 'query');
    const questions = await listQuestions(services.db.pool, site.id, {
      filter: query.filter,
      since: query.since === undefined ? undefined : new Date(query.since),
      before: query.before,
      limit: query.limit,
    });
    return c.json({
      questions: questions.map(questionJson),
      nextBefore: questions.length === query.limit ? questions.at(-1)!.messageId : null,
    });
  });
}
