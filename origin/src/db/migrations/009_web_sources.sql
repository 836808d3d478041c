-- Web sources: a site's pages fetched from a sitemap or a crawl, re-synced on a schedule.
create table web_sources (
  id bigint generated always as identity primary key,
  site_id bigint not null references sites (id) on delete cascade,
  kind text not null check (kind in ('sitemap', 'crawl')),
  url text not null,
  -- Crawl only: links are followed when their path starts with this prefix.
  path_prefix text not null default '/',
  include_patterns text[] not null default '{}',
  exclude_patterns text[] not null default '{}',
  max_pages int not null,
  -- An optional request header for private docs; the value is never returned by the API.
  header_name text,
  header_value text,
  -- Null: manual syncs only.
  interval_seconds int,
  next_run_at timestamptz,
  -- A lease, so that one origin of several runs a given sync (claimed under an advisory lock).
  lease_until timestamptz,
  last_started_at timestamptz,
  last_finished_at timestamptz,
  last_status text check (last_status in ('ok', 'failed')),
  last_error text,
  last_stats jsonb,
  created_at timestamptz not null default now(),
  unique (site_id, url)
);

create index web_sources_due_idx on web_sources (next_run_at) where interval_seconds is not null;

-- What the last sync learned about each page: validators for conditional GETs, the sitemap's
-- lastmod, the document it became, and its outgoing links (so that a 304 still feeds the crawl).
create table web_pages (
  source_id bigint not null references web_sources (id) on delete cascade,
  url text not null,
  etag text,
  last_modified text,
  lastmod text,
  document_source text,
  links text[] not null default '{}',
  fetched_at timestamptz not null default now(),
  primary key (source_id, url)
);

-- Word documents and CSV tables join the formats, for uploads and for crawled pages.
alter table documents drop constraint documents_format_check;
alter table documents add constraint documents_format_check
  check (format in ('text', 'markdown', 'html', 'pdf', 'docx', 'csv'));
