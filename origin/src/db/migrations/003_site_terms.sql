-- Document frequency of each term in each site, kept by the same triggers as the postings, so
-- that BM25 and query expansion read df with one index lookup instead of counting postings.

create table site_terms (
  site_id bigint not null references sites (id) on delete cascade,
  term text not null,
  df int not null,
  primary key (site_id, term)
);

insert into site_terms (site_id, term, df)
select site_id, term, count(*) from chunk_terms group by site_id, term;

create or replace function chunks_postings_insert() returns trigger language plpgsql as $$
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
  ), frequencies as (
    insert into site_terms as s (site_id, term, df)
    select l.site_id, u.lexeme, count(*) from lengths l, unnest(l.search_vector) u group by l.site_id, u.lexeme
    on conflict (site_id, term) do update set df = s.df + excluded.df
  )
  update sites s set lexical_chunks = s.lexical_chunks + d.n, lexical_length = s.lexical_length + d.total
  from (select site_id, count(*) as n, sum(chunk_length) as total from lengths group by site_id) d
  where s.id = d.site_id;
  return null;
end $$;

create or replace function chunks_postings_delete() returns trigger language plpgsql as $$
begin
  update sites s set lexical_chunks = s.lexical_chunks - d.n, lexical_length = s.lexical_length - d.total
  from (
    select o.site_id, count(*) as n,
           coalesce(sum((select sum(coalesce(array_length(u.positions, 1), 1)) from unnest(o.search_vector) u)), 0) as total
    from old_rows o group by o.site_id
  ) d
  where s.id = d.site_id;
  update site_terms s set df = s.df - g.n
  from (
    select o.site_id, u.lexeme as term, count(*) as n from old_rows o, unnest(o.search_vector) u group by o.site_id, u.lexeme
  ) g
  where s.site_id = g.site_id and s.term = g.term;
  delete from site_terms where df <= 0 and site_id in (select distinct site_id from old_rows);
  return null;
end $$;
