/**
 * Every retrieval query, in one place, read top to bottom. Parameters are named (`:site`,
 * `:query`, …) and bound to `$n` by `bind`, so the three statements can share their parts.
 *
 * 1. `vector`: the nearest chunks by cosine distance through the partial HNSW index of the
 *    site's dimension (`embedding::vector(n)` and `vector_dims(embedding) = n` are what reach it);
 *    `hnsw.ef_search` is set from the requested depth and iterative scans keep filtered queries
 *    returning `depth` rows (see `search.ts`).
 * 2. `lexical`: BM25 (k1, b) over the postings that the chunks' tsvectors produce (migrations
 *    002–003), idf = ln(1 + (N − df + 0.5) / (df + 0.5)), with pseudo-relevance feedback: the
 *    best terms of the top `:feedback_docs` chunks of a first pass (RM3-style weights: term share
 *    of each chunk, weighted by the chunk's relative score, times idf; terms in more than a tenth of
 *    the chunks left out) join the query with `1 − :original_weight` of its weight.
 *
 * Hybrid search runs both lists in one repeatable-read transaction and fuses them in
 * `fusion.ts`; without a filter the lexical list usually comes from the in-memory postings
 * (`bm25.ts`), which compute the same definition. Chunks and documents are joined only when a
 * filter reads them: a bare kNN is what reaches the HNSW index best.
 */

/** A statement with positional parameters, ready for `pg`. */
export interface BoundSql {
  text: string;
  values: unknown[];
}

/** Replaces `:name` placeholders (never `::casts`) by `$n`, in order of first use. */
export function bind(sql: string, values: Record<string, unknown>): BoundSql {
  const order: string[] = [];
  const text = sql.replace(/(?<!:):([a-z_][a-z0-9_]*)/g, (_, name: string) => {
    if (!(name in values)) throw new Error(`no value for :${name}`);
    let index = order.indexOf(name);
    if (index === -1) index = order.push(name) - 1;
    return `$${index + 1}`;
  });
  return { text, values: order.map((name) => values[name]) };
}

/** The filter on documents `d` as `and …` conditions; uses `:sources` and `:metadata`. */
export function filterSql(filter: {
  source?: string[] | undefined;
  metadata?: object | undefined;
}): string {
  const parts: string[] = [];
  if (filter.source !== undefined) parts.push('and d.source = any(:sources::text[])');
  if (filter.metadata !== undefined && Object.keys(filter.metadata).length > 0) {
    parts.push('and d.metadata @> :metadata::jsonb');
  }
  return parts.join(' ');
}

/** Nearest chunks by cosine similarity. Uses :site, :vector, :depth. */
export function vectorSql(dimension: number, filter: string): string {
  const n = safeDimension(dimension);
  return `
    with nearest as materialized (
      select c.id, c.embedding::vector(${n}) <=> :vector::vector(${n}) as distance
      from chunks c ${filter === '' ? '' : 'join documents d on d.id = c.document_id'}
      where c.site_id = :site and vector_dims(c.embedding) = ${n} ${filter}
      order by c.embedding::vector(${n}) <=> :vector::vector(${n})
      limit :depth::int
    )
    select id, 1 - distance as similarity, row_number() over (order by distance, id) as rank
    from nearest order by distance, id`;
}

/** BM25 of one weighted term list (`terms (term, w)` must be in scope). */
const BM25 = `
      select t.chunk_id, sum(q.w * ln(1 + (stats.n - st.df + 0.5) / (st.df + 0.5))
                 * t.tf * (:k1::float8 + 1)
                 / (t.tf + :k1::float8 * (1 - :b::float8 + :b::float8 * t.chunk_length / stats.avgdl))) as score
      from chunk_terms t
        join %TERMS% q on q.term = t.term
        join site_terms st on st.site_id = t.site_id and st.term = t.term
        cross join stats
      where t.site_id = :site
      group by t.chunk_id`;

/**
 * BM25 with pseudo-relevance feedback. Uses :site, :query, :depth, :k1, :b, :feedback_docs,
 * :feedback_terms, :original_weight. The query goes through the same `to_tsvector('english', …)`
 * as the chunks, so stemming and stop words agree on both sides.
 */
export function lexicalSql(filter: string): string {
  return `
    with query_terms as (
      select distinct lexeme as term, 1::float8 as w from unnest(to_tsvector('english', :query))
    ), stats as (
      select greatest(lexical_chunks, 1)::float8 as n,
             greatest(lexical_length::float8 / greatest(lexical_chunks, 1), 1) as avgdl
      from sites where id = :site
    ), first_pass as (
      ${BM25.replace('%TERMS%', 'query_terms')}
      order by score desc, t.chunk_id
      limit :feedback_docs::int
    ), feedback as (
      select t.term,
             sum(t.tf::float8 / t.chunk_length * exp(f.score - (select max(score) from first_pass)))
               * ln(stats.n / st.df) as weight
      from first_pass f
        join chunk_terms t on t.chunk_id = f.chunk_id
        join site_terms st on st.site_id = t.site_id and st.term = t.term
        cross join stats
      where st.df <= stats.n / 10 and length(t.term) >= 3 and t.term !~ '^[0-9]+$'
      group by t.term, st.df, stats.n
      order by weight desc, t.term
      limit :feedback_terms::int
    ), expanded as (
      select term, sum(w) as w from (
        select term, :original_weight::float8 * w as w from query_terms
        union all
        select term, (1 - :original_weight::float8) * weight / sum(weight) over ()
                     * (select count(*) from query_terms) as w
        from feedback
      ) parts group by term
    ), scored as (
      ${BM25.replace('%TERMS%', 'expanded')}
    ), ranked as (
      select s.chunk_id as id, s.score
      from scored s ${filter === '' ? '' : 'join chunks c on c.id = s.chunk_id join documents d on d.id = c.document_id'}
      where true ${filter}
      order by s.score desc, s.chunk_id
      limit :depth::int
    )
    select id, score, row_number() over (order by score desc, id) as rank from ranked order by score desc, id`;
}

/** The chunks behind result ids, with what a citation shows. Params: $1 ids. */
export const CHUNK_DETAILS_SQL = `
  select c.id, c.document_id, c.heading_path, c.context, c.content, d.title, d.url, d.source
  from chunks c join documents d on d.id = c.document_id
  where c.id = any($1::bigint[])`;

/** The chunks' context lines and contents (what a reranker and the relevance gate read). Params: $1 ids. */
export const CHUNK_TEXTS_SQL =
  'select id, context, content from chunks where id = any($1::bigint[])';

function safeDimension(dimension: number): number {
  if (!Number.isInteger(dimension) || dimension < 1 || dimension > 16_000) {
    throw new Error(`invalid vector dimension ${dimension}`);
  }
  return dimension;
}

const STATE_COLUMNS = `
  s.content_version::float8 as version, s.lexical_chunks::float8 as lexical_chunks,
  s.lexical_length::float8 as lexical_length,
  array(select lexeme from unnest(to_tsvector('english', $2::text))) as terms,
  set_config('hnsw.ef_search', $3::text, true) as ef_search,
  set_config('hnsw.iterative_scan', 'relaxed_order', true) as iterative_scan`;

/**
 * What a search reads before it ranks in memory, in the same statement as the kNN's settings:
 * the site's content version (the in-memory index serves only that version) and the query's
 * lexemes through the same `to_tsvector('english', …)` as the chunks. Params: $1 site, $2 query
 * text, $3 `hnsw.ef_search`.
 */
export const LEXICAL_STATE_SQL = `select ${STATE_COLUMNS} from sites s where s.id = $1`;

/**
 * `LEXICAL_STATE_SQL` plus the lexeme of each word of $4 (text[], plain ASCII words, as
 * `to_tsvector('english', …)` stems each one; '' for a stop word), in order: what spelling
 * correction needs to tell the words the site's documents never hold, read in the same round
 * trip so that a query spelt right costs nothing more.
 */
export const SEARCH_STATE_SQL = `
  select ${STATE_COLUMNS},
    array(select coalesce((ts_lexize('english_stem', w.word))[1], '')
          from unnest($4::text[]) with ordinality as w (word, n) order by w.n) as word_lexemes
  from sites s where s.id = $1`;

/** Which of the lexemes ($2, text[]) the site's documents hold. Params: $1 site. */
export const KNOWN_TERMS_SQL =
  'select term from site_terms where site_id = $1 and term = any($2::text[])';

/** The counters an index load starts from and ends on. Params: $1 site. */
export const SITE_LEXICAL_COUNTERS_SQL = `
  select content_version::float8 as version, lexical_chunks::float8 as lexical_chunks,
         lexical_length::float8 as lexical_length
  from sites where id = $1`;

/**
 * One page of a site's postings grouped by term, in the primary key's order so that each page
 * is an index range scan. Params: $1 site, $2 the last term of the previous page ('' at first),
 * $3 terms per page.
 */
export const POSTINGS_PAGE_SQL = `
  select t.term,
         (select st.df from site_terms st where st.site_id = $1 and st.term = t.term) as df,
         array_to_string(array_agg(t.chunk_id order by t.chunk_id), ',') as ids,
         array_to_string(array_agg(t.tf order by t.chunk_id), ',') as tfs
  from chunk_terms t
  where t.site_id = $1 and t.term > $2
  group by t.term
  order by t.term
  limit $3`;

/**
 * The site's terms that start with one letter and have a length in a range, most frequent first:
 * the candidates a misspelt term is compared with. The range on the key keeps it an index scan.
 * Params: $1 site, $2 the letter, $3 the next letter, $4 shortest, $5 longest, $6 at most.
 */
export const SPELLING_CANDIDATES_SQL = `
  select term, df from site_terms
  where site_id = $1 and term >= $2 and term < $3 and left(term, 1) = $2
    and length(term) between $4 and $5
  order by df desc, term
  limit $6`;
