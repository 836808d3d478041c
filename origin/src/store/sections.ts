import type pg from 'pg';

/** One stored chunk of a section, in document order. */
export interface SectionChunk {
  documentId: number;
  headingPath: string[];
  position: number;
  content: string;
}

/** Chunks read per section at most: a section longer than this is cut around what was found. */
export const MAX_SECTION_CHUNKS = 24;

/**
 * The chunks of each given section (a document and a heading path), in document order, at most
 * {@link MAX_SECTION_CHUNKS} per section. One statement for all the sections of an answer.
 */
export async function sectionChunks(
  pool: Pick<pg.Pool, 'query'>,
  sections: ReadonlyArray<{ documentId: number; headingPath: readonly string[] }>,
): Promise<SectionChunk[]> {
  if (sections.length === 0) return [];
  const { rows } = await pool.query<{
    document_id: number;
    heading_path: string[];
    position: number;
    content: string;
  }>(
    `select c.document_id, c.heading_path, c.position, c.content
     from (select * from json_to_recordset($1::json) as s (document_id bigint, heading_path text[])) s
     join lateral (
       select c.document_id, c.heading_path, c.position, c.content
       from chunks c
       where c.document_id = s.document_id and c.heading_path = s.heading_path
       order by c.position
       limit $2
     ) c on true
     order by c.document_id, c.position`,
    [
      JSON.stringify(
        sections.map((s) => ({ document_id: s.documentId, heading_path: s.headingPath })),
      ),
      MAX_SECTION_CHUNKS,
    ],
  );
  return rows.map((row) => ({
    documentId: Number(row.document_id),
    headingPath: row.heading_path,
    position: row.position,
    content: row.content,
  }));
}

/** Chunks of one document read at most when an answer reads the document around its sources. */
export const MAX_DOCUMENT_CHUNKS = 64;

/**
 * Every chunk of a document in order, or null when it has more than `maxChunks` (a long document
 * is read as retrieved, not whole).
 */
export async function documentChunks(
  pool: Pick<pg.Pool, 'query'>,
  documentId: number,
  maxChunks: number = MAX_DOCUMENT_CHUNKS,
): Promise<SectionChunk[] | null> {
  const { rows } = await pool.query<{ heading_path: string[]; position: number; content: string }>(
    `select heading_path, position, content from chunks
     where document_id = $1 order by position limit $2`,
    [documentId, maxChunks + 1],
  );
  if (rows.length > maxChunks) return null;
  return rows.map((row) => ({
    documentId,
    headingPath: row.heading_path,
    position: row.position,
    content: row.content,
  }));
}
