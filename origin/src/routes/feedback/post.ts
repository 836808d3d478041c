import type { Hono } from 'hono';
import { FeedbackRequest, type FeedbackResponse, MessageId } from '../../../../contract/index.js';
import type { AppEnv, Services } from '../../context.js';
import { AppError } from '../../errors.js';
import { notifySite } from '../../feedback/webhook.js';
import { readerKey } from '../../lib/client-ip.js';
import { parseWith, readJson } from '../../lib/validate.js';
import { enforceLimits } from '../../limits/enforce.js';
import { siteOfRoute } from '../../middleware/reader-access.js';
import { getAnswer, upsertFeedback } from '../../store/feedback.js';

/**
 * `POST /api/v1/sites/:site/messages/:messageId/feedback`: a reader's vote on an answer, with an
 * optional comment. Only the reader who received the answer (the `feedbackToken` of its `done`
 * event) or the admin may vote; one vote per answer, which a later vote replaces. Readers spend
 * the same kind of exact per-client and per-site budget as chat (the `other` bucket).
 */
export function registerFeedback(app: Hono<AppEnv>, services: Services): void {
  app.post('/api/v1/sites/:site/messages/:messageId/feedback', async (c) => {
    const site = await siteOfRoute(services.db.pool, c.req.param('site'));
    const messageId = parseWith(MessageId, c.req.param('messageId'), 'messageId');
    const body = parseWith(FeedbackRequest, await readJson(c));
    if (c.get('access') !== 'admin') {
      await enforceLimits(services.limits, 'other', {
        siteId: site.id,
        clientKey: readerKey(c, services.config),
      });
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
