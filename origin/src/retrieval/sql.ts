/**
 * Every retrieval query, in one place, read top to bottom:
 *
 * 1. `vector`: the nearest chunks by cosine distance through the partial HNSW index of the
 *    site's dimension (`embedding::vector(n)` and `vector_dims(embedding) = n` are what reach it);
 *    `hnsw.ef_search` is set from the requested depth and iterative scans keep filtered queries
 *    returning `depth` rows.
 * 2. `lexical`: BM25 (k1, b) over the postings that the chunks' tsvectors produce (migration
 *    002): idf = ln(1 + (N − df + 0.5) / (df + 0.5)), the standard non-negative form.
 * 3. `hybrid`: both lists fused by weighted reciprocal rank fusion, in the same statement.
 *
 * `$1` is always the site id; filters are appended as `and …` on documents `d` and chunks `c`.
 */

/** The parts of a filter, already rendered as SQL with numbered parameters. */
export interface FilterSql {
  clause: string;
  params: unknown[];
}

/** Builds `and …` conditions for a metadata/source filter, numbering parameters from `first`. */
export function filterSql(
  filter: {
    source?: string[] | undefined;
    metadata?: Record<string, string | number | boolean | null> | undefined;
  },
  first: number,
): FilterSql {
  const parts: string[] = [];
  const params: unknown[] = [];
  const next = (value: unknown) => {
    params.push(value);
    return `$${first + params.length - 1}`;
  };
  if (filter.source !== undefined) parts.push(`and d.source = any(${next(filter.source)}::text[])`);
  if (filter.metadata !== undefined && Object.keys(filter.metadata).length > 0) {
    parts.push(`and d.metadata @> ${next(JSON.stringify(filter.metadata))}::jsonb`);
  }
  return { clause: parts.join(' '), params };
}

/** Nearest chunks by cosine similarity. Params: $1 site, $2 query vector, $3 depth, then filter. */
export function vectorSql(dimension: number, filter: string): string {
  const n = safeDimension(dimension);
  return `
    with nearest as materialized (
      select c.id, c.embedding::vector(${n}) <=> $2::vector(${n}) as distance
      from chunks c join documents d on d.id = c.document_id
      where c.site_id = $1 and vector_dims(c.embedding) = ${n} ${filter}
      order by c.embedding::vector(${n}) <=> $2::vector(${n})
      limit $3::int
    )
    select id, 1 - distance as similarity, row_number() over (order by distance, id) as rank
    from nearest order by distance, id`;
}

/**
 * BM25 over the postings of the query's lexemes. Params: $1 site, $2 query text, $3 depth,
 * $4 k1, $5 b, then filter. The query text goes through the same `to_tsvector('english', …)`
 * as the chunks, so stemming and stop words agree on both sides.
 */
export function lexicalSql(filter: string): string {
  return `
    with terms as (
      select distinct lexeme as term from unnest(to_tsvector('english', $2)) 
    ), stats as (
      select greatest(lexical_chunks, 1)::float8 as n,
             greatest(lexical_length::float8 / greatest(lexical_chunks, 1), 1) as avgdl
      from sites where id = $1
    ), df as (
      select t.term, count(*)::float8 as df
      from chunk_terms t join terms q on q.term = t.term
      where t.site_id = $1
      group by t.term
    ), scored as (
      select t.chunk_id,
             sum(ln(1 + (stats.n - df.df + 0.5) / (df.df + 0.5))
                 * t.tf * ($4::float8 + 1) / (t.tf + $4::float8 * (1 - $5::float8 + $5::float8 * t.chunk_length / stats.avgdl))) as score
      from chunk_terms t join df on df.term = t.term cross join stats
      where t.site_id = $1
      group by t.chunk_id
    ), ranked as (
      select s.chunk_id as id, s.score
      from scored s join chunks c on c.id = s.chunk_id join documents d on d.id = c.document_id
      where true ${filter}
      order by s.score desc, s.chunk_id
      limit $3
    )
    select id, score, row_number() over (order by score desc, id) as rank from ranked order by score desc, id`;
}

/**
 * Both lists and their fusion in one statement: score = wv / (k + rank_v) + wl / (k + rank_l).
 * Params: $1 site, $2 query vector, $3 depth, $4 k1, $5 b, $6 query text, $7 rrf k, $8 vector
 * weight, $9 lexical weight, then filter.
 */
export function hybridSql(dimension: number, filter: string): string {
  const vector = vectorSql(dimension, filter);
  const lexical = lexicalSql(filter).replaceAll('$2', '$6');
  return `
    with v as (${vector}),
    l as (${lexical})
    select coalesce(v.id, l.id) as id,
           v.rank as vector_rank, v.similarity as vector_similarity,
           l.rank as lexical_rank, l.score as lexical_score,
           coalesce($8::float8 / ($7::int + v.rank), 0) + coalesce($9::float8 / ($7::int + l.rank), 0) as fused
    from v full outer join l on l.id = v.id
    order by fused desc, id
    limit $3`;
}

/** The chunks behind result ids, with what a citation shows. Params: $1 ids. */
export const CHUNK_DETAILS_SQL = `
  select c.id, c.document_id, c.heading_path, c.context, c.content, d.title, d.url, d.source
  from chunks c join documents d on d.id = c.document_id
  where c.id = any($1::bigint[])`;

function safeDimension(dimension: number): number {
  if (!Number.isInteger(dimension) || dimension < 1 || dimension > 16_000) {
    throw new Error(`invalid vector dimension ${dimension}`);
  }
  return dimension;
}
