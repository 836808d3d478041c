import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { withTransaction } from '../db/transaction.js';
import { AppError } from '../errors.js';
import { vectorLiteral } from './chunks.js';

/** Messages one conversation may hold; past it the reader starts a new conversation. */
export const MAX_MESSAGES_PER_CONVERSATION = 200;

export interface StoredTurn {
  role: 'user' | 'assistant';
  content: string;
}

/**
 * The conversation `id` of `siteId`, or a new id when `id` is undefined. A new conversation is
 * only an id until its first exchange is stored (`recordExchange` creates the row): a question
 * refused or abandoned before then leaves nothing behind. A conversation of another site is
 * "not found": ids do not cross sites.
 */
export async function openConversation(
  db: pg.Pool,
  siteId: number,
  id: string | undefined,
): Promise<string> {
  if (id === undefined) return randomUUID();
  const { rows } = await db.query<{ message_count: number }>(
    'select message_count from conversations where id = $1 and site_id = $2',
    [id, siteId],
  );
  const row = rows[0];
  if (row === undefined)
    throw new AppError('not_found', 'no such conversation on this site; start a new one');
  if (row.message_count >= MAX_MESSAGES_PER_CONVERSATION) {
    throw new AppError('conflict', 'this conversation is full; start a new one');
  }
  return id;
}

/** The last `turns` messages, oldest first, each cut to `maxChars`. */
export async function recentTurns(
  db: pg.Pool,
  conversationId: string,
  turns: number,
  maxChars: number,
): Promise<StoredTurn[]> {
  const { rows } = await db.query<{ role: 'user' | 'assistant'; content: string }>(
    `select role, left(content, $3) as content from (
       select id, role, content from messages where conversation_id = $1 and status <> 'error' order by id desc limit $2
     ) recent order by id`,
    [conversationId, turns, maxChars],
  );
  return rows;
}

/** How an answer ended, as the operator's questions log and insights count it. */
export type AnswerOutcome = 'answered' | 'no_answer' | 'error' | 'partial';

/**
 * The stream an answer was produced on and the generation of its producer's lease (shared chat
 * streams only): a fencing token for the exchange. See `recordExchange`.
 */
export interface ExchangeFence {
  streamId: string;
  generation: number;
}

/**
 * Stores a question and its answer (complete, partial or failed) in one transaction, creating
 * the conversation of `siteId` with its first exchange; returns the answer's message id (what
 * readers' feedback names).
 *
 * With a `fence`, one exchange per stream is kept: an origin that took an answer over (a higher
 * generation) replaces what a paused producer stored before it, and a producer that stores after
 * the takeover is refused (`null`). The check and the write are one transaction under a lock on
 * the stream, so two origins cannot both store whatever their timing.
 */
export async function recordExchange(
  db: pg.Pool,
  siteId: number,
  conversationId: string,
  question: string,
  answer: {
    content: string;
    sources: unknown[];
    cited: number[];
    status: 'complete' | 'partial' | 'error';
    /** For the operator: how it ended, its time to first token and total time. */
    log?: { outcome: AnswerOutcome; ttftMs: number | null; latencyMs: number };
  },
  questionEmbedding?: Float32Array | null,
  fence?: ExchangeFence,
): Promise<string | null> {
  return withTransaction(db, async (client) => {
    if (fence !== undefined && !(await claimStream(client, fence))) return null;
    await client.query(
      'insert into conversations (id, site_id) values ($1, $2) on conflict (id) do nothing',
      [conversationId, siteId],
    );
    await client.query(
      `insert into messages (conversation_id, role, content, status, question_embedding, stream_id, stream_generation)
         values ($1, 'user', $2, 'complete', $3::vector, $4, $5)`,
      [
        conversationId,
        question,
        questionEmbedding ? vectorLiteral(questionEmbedding) : null,
        fence?.streamId ?? null,
        fence?.generation ?? null,
      ],
    );
    const { rows } = await client.query<{ id: string }>(
      `insert into messages (conversation_id, role, content, sources, cited, status, outcome, ttft_ms, latency_ms, stream_id, stream_generation)
         values ($1, 'assistant', $2, $3, $4, $5, $6, $7, $8, $9, $10) returning id`,
      [
        conversationId,
        answer.content,
        JSON.stringify(answer.sources),
        answer.cited,
        answer.status,
        answer.log?.outcome ?? null,
        answer.log?.ttftMs ?? null,
        answer.log?.latencyMs ?? null,
        fence?.streamId ?? null,
        fence?.generation ?? null,
      ],
    );
    await client.query(
      'update conversations set message_count = message_count + 2, updated_at = now() where id = $1',
      [conversationId],
    );
    return String(rows[0]!.id);
  });
}

/**
 * Whether the holder of `fence` may store its stream's exchange, inside the storing transaction:
 * locks the stream (transaction-scoped, so PgBouncer's transaction mode keeps it), refuses when
 * an equal or higher generation stored it already, and removes a lower generation's exchange.
 */
async function claimStream(client: pg.PoolClient, fence: ExchangeFence): Promise<boolean> {
  await client.query('select pg_advisory_xact_lock(hashtextextended($1, 0))', [
    `chat-stream:${fence.streamId}`,
  ]);
  const { rows } = await client.query<{ generation: number; conversation_id: string }>(
    `select stream_generation as generation, conversation_id from messages
      where stream_id = $1 and role = 'assistant'`,
    [fence.streamId],
  );
  const stored = rows[0];
  if (stored === undefined) return true;
  if (stored.generation >= fence.generation) return false;
  const removed = await client.query('delete from messages where stream_id = $1', [fence.streamId]);
  await client.query(
    'update conversations set message_count = greatest(message_count - $2, 0) where id = $1',
    [stored.conversation_id, removed.rowCount ?? 0],
  );
  return true;
}
