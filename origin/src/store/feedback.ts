import type pg from 'pg';
import { AppError } from '../errors.js';

export type Rating = 'up' | 'down';

export interface FeedbackRecord {
  messageId: string;
  rating: Rating;
  comment: string | null;
  updatedAt: Date;
}

/** An answer of `siteId` that readers may vote on, with the question it answered. */
export interface RatedAnswer {
  messageId: string;
  question: string;
  answer: string;
}

/**
 * The answer `messageId` of `siteId` with its question; 404 when the id names no answer of this
 * site (a question, another site's answer, or nothing): ids do not cross sites.
 */
export async function getAnswer(
  db: pg.Pool,
  siteId: number,
  messageId: string,
): Promise<RatedAnswer> {
  const { rows } = await db.query<{ id: string; answer: string; question: string | null }>(
    `select a.id, a.content as answer,
            (select u.content from messages u
              where u.conversation_id = a.conversation_id and u.id < a.id and u.role = 'user'
              order by u.id desc limit 1) as question
       from messages a join conversations c on c.id = a.conversation_id
      where a.id = $1 and c.site_id = $2 and a.role = 'assistant'`,
    [messageId, siteId],
  );
  const row = rows[0];
  if (row === undefined) throw new AppError('not_found', 'no such answer on this site');
  return { messageId: String(row.id), question: row.question ?? '', answer: row.answer };
}

/** One vote per answer: a second vote replaces the first (rating and comment). */
export async function upsertFeedback(
  db: pg.Pool,
  messageId: string,
  rating: Rating,
  comment: string | null,
): Promise<FeedbackRecord> {
  const { rows } = await db.query<{
    message_id: string;
    rating: Rating;
    comment: string | null;
    updated_at: Date;
  }>(
    `insert into feedback (message_id, rating, comment) values ($1, $2, $3)
     on conflict (message_id) do update set rating = excluded.rating, comment = excluded.comment, updated_at = now()
     returning message_id, rating, comment, updated_at`,
    [messageId, rating, comment],
  );
  const row = rows[0]!;
  return {
    messageId: String(row.message_id),
    rating: row.rating,
    comment: row.comment,
    updatedAt: row.updated_at,
  };
}
