import { z } from 'zod';

/**
 * Refuses U+0000 in text bound for the database: PostgreSQL rejects it in `text` and `jsonb`, and
 * on the embedded PGlite the failed statement also breaks the connection for the next queries.
 */
export function noNul<S extends z.ZodString>(schema: S) {
  return schema.refine((value) => !value.includes('\u0000'), 'must not contain NUL characters');
}

/** The body of `POST /api/v1/sites/:site/chat` (a resume repeats it). */
export const ChatRequest = z
  .object({
    message: noNul(
      z.string().trim().min(1, 'must not be empty').max(4000, 'must be at most 4000 characters'),
    ),
    conversationId: z.uuid('must be a conversation id from an earlier answer').optional(),
  })
  .strict();
export type ChatRequest = z.input<typeof ChatRequest>;

const Scalar = z.union([noNul(z.string().max(1000)), z.number().finite(), z.boolean(), z.null()]);

/** The body of `POST /api/v1/sites/:site/search`; `maxQueryChars` is the origin's setting. */
export function searchRequest(maxQueryChars: number) {
  return z
    .object({
      query: noNul(
        z
          .string()
          .trim()
          .min(1, 'must not be empty')
          .max(maxQueryChars, `must be at most ${maxQueryChars} characters`),
      ),
      k: z.number().int().min(1).max(200).default(10),
      mode: z.enum(['hybrid', 'fulltext', 'vector']).default('hybrid'),
      rerank: z.boolean().default(true),
      filter: z
        .object({
          source: z
            .union([
              noNul(z.string().max(2048)),
              z
                .array(noNul(z.string().max(2048)))
                .min(1)
                .max(100),
            ])
            .optional(),
          metadata: z
            .record(noNul(z.string().min(1).max(64)), Scalar)
            .refine((value) => Object.keys(value).length <= 20, 'must have at most 20 keys')
            .optional(),
        })
        .strict()
        .optional(),
    })
    .strict();
}
export type SearchRequest = z.input<ReturnType<typeof searchRequest>>;

/** An answer's message id, as the `done` event gives it. */
export const MessageId = z.string().regex(/^[1-9][0-9]{0,17}$/, 'must be a message id from `done`');

/** The body of `POST /api/v1/sites/:site/messages/:messageId/feedback`. */
export const FeedbackRequest = z
  .object({
    rating: z.enum(['up', 'down']),
    comment: noNul(z.string().trim().max(1000, 'must be at most 1000 characters'))
      .nullable()
      .optional(),
    /** The `feedbackToken` of the answer's `done` event (a reader's proof of receipt). */
    token: z.string().max(100).optional(),
  })
  .strict();
export type FeedbackRequest = z.input<typeof FeedbackRequest>;
