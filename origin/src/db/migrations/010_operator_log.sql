-- What the operator reads back: each answer's outcome and time to first token, each question's
-- embedding (grouped by meaning in insights), and readers' votes. All of it hangs off `messages`,
-- so deleting a conversation (retention, or a site) deletes its questions and feedback with it.
alter table messages
  add column if not exists outcome text check (outcome in ('answered', 'no_answer', 'error', 'partial')),
  add column if not exists ttft_ms int,
  add column if not exists latency_ms int,
  add column if not exists question_embedding vector;

-- The log and insights read one site's conversations, and their messages by time.
create index if not exists messages_created_idx on messages (created_at);
create index if not exists conversations_site_idx on conversations (site_id);

create table if not exists feedback (
  message_id bigint primary key references messages (id) on delete cascade,
  rating text not null check (rating in ('up', 'down')),
  comment text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index if not exists feedback_updated_idx on feedback (updated_at);
