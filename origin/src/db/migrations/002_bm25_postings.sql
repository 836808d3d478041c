-- BM25 for every PostgreSQL we run on (stock pgvector/pgvector:pg16 and PGlite alike):
-- ts_rank has no inverse document frequency, so the lexical ranker reads term postings instead.
-- Postings are derived from each chunk's own tsvector by statement-level triggers, so they
-- always agree with the text-search configuration, for INSERT and COPY alike; deleting a chunk
-- deletes its postings (foreign key cascade). Per-site counts give N and the average length.

create table chunk_terms (
  site_id bigint not null,
  term text not null,
  chunk_id bigint not null references chunks (id) on delete cascade,
  -- Occurrences of the term in the chunk (title and headings included), and the chunk's length
  -- in lexemes: copied here so that scoring reads one table.
  tf int not null,
  chunk_length int not null,
  primary key (site_id, term, chunk_id)
);

create index chunk_terms_chunk_idx on chunk_terms (chunk_id);

alter table sites
  add column lexical_chunks bigint not null default 0,
  add column lexical_length bigint not null default 0;

create function chunks_postings_insert() returns trigger language plpgsql as $$
begin
  with lengths as (
    select n.id, n.site_id, n.search_vector,
           coalesce((select sum(coalesce(array_length(u.positions, 1), 1)) from unnest(n.search_vector) u), 0)::int
             as chunk_length
    from new_rows n
  ), postings as (
    insert into chunk_terms (site_id, term, chunk_id, tf, chunk_length)
    select l.site_id, u.lexeme, l.id, coalesce(array_length(u.positions, 1), 1), l.chunk_length
    from lengths l, unnest(l.search_vector) u
  )
  update sites s set lexical_chunks = s.lexical_chunks + d.n, lexical_length = s.lexical_length + d.total
  from (select site_id, count(*) as n, sum(chunk_length) as total from lengths group by site_id) d
  where s.id = d.site_id;
  return null;
end $$;

create function chunks_postings_delete() returns trigger language plpgsql as $$
begin
  update sites s set lexical_chunks = s.lexical_chunks - d.n, lexical_length = s.lexical_length - d.total
  from (
    select o.site_id, count(*) as n,
           coalesce(sum((select sum(coalesce(array_length(u.positions, 1), 1)) from unnest(o.search_vector) u)), 0) as total
    from old_rows o group by o.site_id
  ) d
  where s.id = d.site_id;
  return null;
end $$;

create trigger chunks_postings_insert after insert on chunks
  referencing new table as new_rows for each statement execute function chunks_postings_insert();
create trigger chunks_postings_delete after delete on chunks
  referencing old table as old_rows for each statement execute function chunks_postings_delete();

-- Chunks that already exist get their postings now.
insert into chunk_terms (site_id, term, chunk_id, tf, chunk_length)
select c.site_id, u.lexeme, c.id, coalesce(array_length(u.positions, 1), 1),
       (select sum(coalesce(array_length(v.positions, 1), 1)) from unnest(c.search_vector) v)::int
from chunks c, unnest(c.search_vector) u;

update sites s set lexical_chunks = d.n, lexical_length = d.total
from (
  select site_id, count(*) as n, sum(len) as total
  from (select c.site_id, (select sum(coalesce(array_length(u.positions, 1), 1)) from unnest(c.search_vector) u) as len from chunks c) x
  group by site_id
) d
where s.id = d.site_id;
