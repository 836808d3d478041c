import type pg from 'pg';
import { vectorLiteral } from './chunks.js';
import type { AnswerOutcome } from './conversations.js';
import { OUTCOME_SQL } from './questions.js';

/** Answers of one site since a time: the rows every insight below reads. */
const ANSWERS = `messages a join conversations c on c.id = a.conversation_id
  where c.site_id = $1 and a.role = 'assistant' and a.created_at >= $2`;

/** Answers per UTC day and outcome. */
export async function outcomesByDay(
  db: pg.Pool,
  siteId: number,
  since: Date,
): Promise<Array<{ day: string; outcome: AnswerOutcome; count: number }>> {
  const { rows } = await db.query<{ day: string; outcome: AnswerOutcome; count: string }>(
    `select to_char(a.created_at at time zone 'UTC', 'YYYY-MM-DD') as day, ${OUTCOME_SQL} as outcome,
            count(*) as count
       from ${ANSWERS}
      group by 1, 2 order by 1, 2`,
    [siteId, since],
  );
  return rows.map((row) => ({ ...row, count: Number(row.count) }));
}

/** Time to first token of the answers that started: p50, p90, p99 in ms (null without any). */
export async function ttftPercentiles(
  db: pg.Pool,
  siteId: number,
  since: Date,
): Promise<{ p50: number | null; p90: number | null; p99: number | null; count: number }> {
  const { rows } = await db.query<{ p: number[] | null; count: string }>(
    `select percentile_cont(array[0.5, 0.9, 0.99]) within group (order by a.ttft_ms) as p,
            count(a.ttft_ms) as count
       from ${ANSWERS} and a.ttft_ms is not null`,
    [siteId, since],
  );
  const p = rows[0]?.p ?? null;
  const round = (value: number | undefined) => (value === undefined ? null : Math.round(value));
  return {
    p50: round(p?.[0]),
    p90: round(p?.[1]),
    p99: round(p?.[2]),
    count: Number(rows[0]?.count ?? 0),
  };
}

/** Votes given to the answers of the window, by rating. */
export async function feedbackCounts(
  db: pg.Pool,
  siteId: number,
  since: Date,
): Promise<{ up: number; down: number }> {
  const { rows } = await db.query<{ rating: 'up' | 'down'; count: string }>(
    `select f.rating, count(*) as count from feedback f join messages a on a.id = f.message_id
       join conversations c on c.id = a.conversation_id
      where c.site_id = $1 and f.updated_at >= $2 group by f.rating`,
    [siteId, since],
  );
  const counts = { up: 0, down: 0 };
  for (const row of rows) counts[row.rating] = Number(row.count);
  return counts;
}

/** How often each document was cited in the window (by its id when recorded, else its title). */
export async function citationCounts(
  db: pg.Pool,
  siteId: number,
  since: Date,
): Promise<Array<{ documentId: string | null; title: string; count: number }>> {
  const { rows } = await db.query<{ document_id: string | null; title: string; count: string }>(
    `select s->>'documentId' as document_id, s->>'title' as title, count(*) as count
       from messages a join conversations c on c.id = a.conversation_id
      cross join lateral jsonb_array_elements(coalesce(a.sources, '[]'::jsonb)) s
      where c.site_id = $1 and a.role = 'assistant' and a.created_at >= $2
        and (s->>'n')::int = any(a.cited)
      group by 1, 2 order by 3 desc, 2 limit 1000`,
    [siteId, since],
  );
  return rows.map((row) => ({
    documentId: row.document_id,
    title: row.title,
    count: Number(row.count),
  }));
}

/** Documents of the site that none of the given ids or titles name: never cited. */
export async function documentsNotCited(
  db: pg.Pool,
  siteId: number,
  cited: { ids: string[]; titles: string[] },
  limit: number,
): Promise<{ total: number; documents: Array<{ id: string; title: string; source: string }> }> {
  const where = `d.site_id = $1 and not (d.id::text = any($2::text[]) or d.title = any($3::text[]))`;
  const params = [siteId, cited.ids, cited.titles];
  const [list, count] = await Promise.all([
    db.query<{ id: string; title: string; source: string }>(
      `select d.id, d.title, d.source from documents d where ${where} order by d.title limit $4`,
      [...params, limit],
    ),
    db.query<{ count: string }>(`select count(*) as count from documents d where ${where}`, params),
  ]);
  return {
    total: Number(count.rows[0]?.count ?? 0),
    documents: list.rows.map((row) => ({ ...row, id: String(row.id) })),
  };
}

/** A question of the window with what became of it, for grouping by meaning. */
export interface WindowQuestion {
  id: string;
  text: string;
  embedding: Float32Array | null;
  outcome: AnswerOutcome | null;
  rating: 'up' | 'down' | null;
}

/** The newest `limit` questions of the window, each with its answer's outcome and vote. */
export async function windowQuestions(
  db: pg.Pool,
  siteId: number,
  since: Date,
  limit: number,
): Promise<WindowQuestion[]> {
  const { rows } = await db.query<{
    id: string;
    content: string;
    embedding: Buffer | null;
    outcome: AnswerOutcome | null;
    rating: 'up' | 'down' | null;
  }>(
    // Binary (vector_send): 2,000 vectors in their text form cost ~0.8 s to parse, in binary ~10 ms.
    `select u.id, left(u.content, 500) as content, vector_send(u.question_embedding) as embedding,
            x.outcome, x.rating
       from messages u join conversations c on c.id = u.conversation_id
       left join lateral (
         select ${OUTCOME_SQL} as outcome, f.rating from messages a
           left join feedback f on f.message_id = a.id
          where a.conversation_id = u.conversation_id and a.id > u.id and a.role = 'assistant'
          order by a.id limit 1
       ) x on true
      where c.site_id = $1 and u.role = 'user' and u.created_at >= $2
      order by u.id desc limit $3`,
    [siteId, since, limit],
  );
  return rows.map((row) => ({
    id: String(row.id),
    text: row.content,
    embedding: row.embedding === null ? null : fromVectorSend(row.embedding),
    outcome: row.outcome,
    rating: row.rating,
  }));
}

/** pgvector's binary form: int16 dimension, int16 unused, then big-endian float4s. */
function fromVectorSend(bytes: Buffer): Float32Array {
  const dim = bytes.readUInt16BE(0);
  const out = new Float32Array(dim);
  for (let i = 0; i < dim; i += 1) out[i] = bytes.readFloatBE(4 + i * 4);
  return out;
}

/** Stores embeddings computed later for questions that had none (follow-ups, older rows). */
export async function storeQuestionEmbeddings(
  db: pg.Pool,
  ids: string[],
  vectors: Float32Array[],
): Promise<void> {
  if (ids.length === 0) return;
  await db.query(
    `update messages m set question_embedding = v.embedding::vector
       from unnest($1::bigint[], $2::text[]) as v (id, embedding) where m.id = v.id`,
    [ids, vectors.map(vectorLiteral)],
  );
}
