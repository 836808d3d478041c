-- Conversations live in the database, not in the origin, so that several origins can share them.
create table conversations (
  id uuid primary key default gen_random_uuid(),
  site_id bigint not null references sites (id) on delete cascade,
  message_count int not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table messages (
  id bigint generated always as identity primary key,
  conversation_id uuid not null references conversations (id) on delete cascade,
  role text not null check (role in ('user', 'assistant')),
  content text not null,
  -- For answers: the numbered sources shown, the numbers cited, and whether it completed.
  sources jsonb,
  cited int[],
  status text not null default 'complete' check (status in ('complete', 'partial', 'error')),
  created_at timestamptz not null default now()
);

create index messages_conversation_idx on messages (conversation_id, id);
