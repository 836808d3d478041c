import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Proof that a reader received an answer: an HMAC of the answer's message id, sent in that
 * answer's `done` event and nowhere else. Stateless, so that any origin sharing the admin token
 * can check it; changing the admin token voids the tokens already given out.
 */
export interface FeedbackTokens {
  sign(messageId: string): string;
  verify(messageId: string, token: string): boolean;
}

/** Tokens keyed by a key derived from `secret` (the admin token), never the secret itself. */
export function feedbackTokens(secret: string): FeedbackTokens {
  const key = createHmac('sha256', secret).update('ragedge feedback token v1').digest();
  const sign = (messageId: string) =>
    createHmac('sha256', key).update(messageId).digest('base64url');
  return {
    sign,
    verify(messageId, token) {
      const expected = Buffer.from(sign(messageId));
      const given = Buffer.from(token);
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}
