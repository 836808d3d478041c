-- Sites, documents and chunks: the knowledge base of each site.
create extension if not exists vector;

create table sites (
  id bigint generated always as identity primary key,
  name text not null unique,
  title text not null,
  -- Public key that the widget sends; it grants nothing but asking questions.
  public_key text not null unique,
  -- Origins whose pages may use the widget; empty allows none but the product's own chat site.
  allowed_origins text[] not null default '{}',
  -- Which embedder built this site's vectors, and their dimension. Null until the first write;
  -- writing with another embedder is refused until `reindex` re-embeds the site.
  embedder text,
  embedding_dim int,
  -- Bumped by every change to the site's documents, so caches keyed on it go stale at once.
  content_version bigint not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check ((embedder is null) = (embedding_dim is null))
);

create table documents (
  id bigint generated always as identity primary key,
  site_id bigint not null references sites (id) on delete cascade,
  -- Identity of the document within its site: its URL, else its file name, else its title.
  source text not null,
  title text not null,
  url text,
  file_name text,
  format text not null check (format in ('text', 'markdown', 'html', 'pdf')),
  content_hash text not null,
  metadata jsonb not null default '{}',
  status text not null default 'ready' check (status in ('processing', 'ready', 'failed')),
  chunk_count int not null default 0,
  byte_size bigint not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (site_id, source)
);

create index documents_site_updated_idx on documents (site_id, id desc);

create table chunks (
  id bigint generated always as identity primary key,
  document_id bigint not null references documents (id) on delete cascade,
  site_id bigint not null references sites (id) on delete cascade,
  position int not null,
  heading_path text[] not null default '{}',
  -- Document title and heading path as one line: searched with the text, shown with citations.
  context text not null default '',
  content text not null,
  token_count int not null,
  search_vector tsvector generated always as (
    setweight(to_tsvector('english', context), 'B') || setweight(to_tsvector('english', content), 'A')
  ) stored,
  -- Untyped so that sites embedded at different dimensions can share the table; each
  -- dimension in use gets its own partial HNSW index (see vector-index.ts).
  embedding vector not null,
  unique (document_id, position)
);

create index chunks_site_idx on chunks (site_id);
create index chunks_search_idx on chunks using gin (search_vector);
