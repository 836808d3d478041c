import type { Hono } from 'hono';
import { FeedbackRequest, type FeedbackResponse, MessageId } from '../../../../contract/index.js';
import { budgetOf, type ReaderEnv } from '../../app-env.js';
import { AppError } from '../../errors.js';
import { notifySite } from '../../feedback/webhook.js';
import { parseWith, readJson } from '../../lib/validate.js';
import type { Services } from '../../services.js';
import { getAnswer, upsertFeedback } from '../../store/feedback.js';

/**
 * `POST /api/v1/sites/:site/messages/:messageId/feedback`: a reader's vote on an answer, with an
 * optional comment. Only the reader who received the answer (the `feedbackToken` of its `done`
 * event) or the admin may vote; one vote per answer, which a later vote replaces. Readers spend
 * the same kind of exact per-client and per-site budget as chat (the `other` bucket).
 */
export function registerFeedback(app: Hono<ReaderEnv>, services: Services): void {
  app.post('/:site/messages/:messageId/feedback', async (c) => {
    const site = c.get('site');
    const messageId = parseWith(MessageId, c.req.param('messageId'), 'messageId');
    const body = parseWith(FeedbackRequest, await readJson(c));
    await budgetOf(c)();
    if (c.get('access') !== 'admin') {
      if (
        body.token === undefined ||
        !services.operator.feedbackTokens.verify(messageId, body.token)
      ) {
        throw new AppError('forbidden', 'only the reader who received this answer may rate it');
      }
    }
    const answer = await getAnswer(services.db.pool, site.id, messageId);
    const comment = body.comment === undefined || body.comment === '' ? null : body.comment;
    const feedback = await upsertFeedback(services.db.pool, messageId, body.rating, comment);
    services.metrics.feedbackVotes.inc({ rating: body.rating });
    if (body.rating === 'down') {
      notifySite(services.operator.webhooks, services.adminToken, site, {
        type: 'answer.downvoted',
        messageId,
        question: answer.question,
        answer: answer.answer.slice(0, 4000),
        comment,
      });
    }
    const response: FeedbackResponse = {
      feedback: {
        messageId: feedback.messageId,
        rating: feedback.rating,
        comment: feedback.comment,
        updatedAt: feedback.updatedAt.toISOString(),
      },
    };
    return c.json(response);
  });
}
