import type pg from 'pg';

/** A chunk ready to be stored, with its embedding. */
export interface ChunkWrite {
  documentId: number;
  position: number;
  headingPath: string[];
  context: string;
  content: string;
  tokenCount: number;
  embedding: Float32Array;
}

/** Rows per INSERT statement: large enough to amortize round trips, small enough to bound memory. */
export const CHUNK_INSERT_BATCH = 500;
/** Separates heading path parts in transit; a control character no parsed text contains. */
const PATH_SEPARATOR = '\u001f';

/**
 * pgvector's text form of a vector. Nine significant digits give back the exact float32, in
 * about two thirds of the characters of a float64 print: less to send, less for the server to parse.
 */
export function vectorLiteral(vector: Float32Array | readonly number[]): string {
  let text = '[';
  for (let i = 0; i < vector.length; i += 1) {
    if (i > 0) text += ',';
    text += vector[i]!.toPrecision(9);
  }
  return `${text}]`;
}

/**
 * Writes chunks in bulk: one INSERT … SELECT FROM unnest(…) per batch of `batchSize` rows, across
 * documents, never one statement per chunk.
 */
export async function insertChunks(
  client: pg.PoolClient,
  siteId: number,
  chunks: readonly ChunkWrite[],
  batchSize = CHUNK_INSERT_BATCH,
): Promise<void> {
  for (let start = 0; start < chunks.length; start += batchSize) {
    // A turn of the event loop between statements: building one holds it, and an in-process
    // engine (PGlite) runs each statement on it.
    if (start > 0) await new Promise((resolve) => setImmediate(resolve));
    const batch = chunks.slice(start, start + batchSize);
    await client.query(
      `insert into chunks (document_id, site_id, position, heading_path, context, content, token_count, embedding)
       select t.document_id, $1, t.position, string_to_array(t.heading_path, $2), t.context, t.content,
              t.token_count, t.embedding::vector
       from unnest($3::bigint[], $4::int[], $5::text[], $6::text[], $7::text[], $8::int[], $9::text[])
         as t (document_id, position, heading_path, context, content, token_count, embedding)`,
      [
        siteId,
        PATH_SEPARATOR,
        batch.map((chunk) => chunk.documentId),
        batch.map((chunk) => chunk.position),
        batch.map((chunk) => chunk.headingPath.join(PATH_SEPARATOR)),
        batch.map((chunk) => chunk.context),
        batch.map((chunk) => chunk.content),
        batch.map((chunk) => chunk.tokenCount),
        batch.map((chunk) => vectorLiteral(chunk.embedding)),
      ],
    );
  }
}

export async function deleteChunksOfDocuments(
  client: pg.PoolClient,
  documentIds: readonly number[],
): Promise<void> {
  if (documentIds.length === 0) return;
  await client.query('delete from chunks where document_id = any($1::bigint[])', [documentIds]);
}

/** How many chunks a site holds. */
export async function countChunksOfSite(client: pg.PoolClient, siteId: number): Promise<number> {
  const { rows } = await client.query<{ n: number }>(
    'select count(*) as n from chunks where site_id = $1',
    [siteId],
  );
  return rows[0]?.n ?? 0;
}

/** The next `limit` chunks of a site after `afterId`, in id order: pages of a walk over all. */
export async function chunkTextsAfter(
  client: pg.PoolClient,
  siteId: number,
  afterId: number,
  limit: number,
): Promise<Array<{ id: number; context: string; content: string }>> {
  const { rows } = await client.query<{ id: number; context: string; content: string }>(
    'select id, context, content from chunks where site_id = $1 and id > $2 order by id limit $3',
    [siteId, afterId, limit],
  );
  return rows;
}

/** Replaces the embeddings of the chunks `ids` (`vectors[i]` for `ids[i]`), in one statement. */
export async function setChunkEmbeddings(
  client: pg.PoolClient,
  ids: readonly number[],
  vectors: readonly Float32Array[],
): Promise<void> {
  await client.query(
    `update chunks c set embedding = v.embedding::vector
     from unnest($1::bigint[], $2::text[]) as v (id, embedding) where c.id = v.id`,
    [ids, vectors.map(vectorLiteral)],
  );
}
