-- A durable job queue: large uploads, re-indexing and web syncs run here, picked up by any origin.
-- A worker claims a queued job (FOR UPDATE SKIP LOCKED) and holds it with a lease that it renews;
-- a job whose lease lapsed (its origin died) is claimed again, until it has used its attempts.
create table jobs (
  id bigint generated always as identity primary key,
  site_id bigint not null references sites (id) on delete cascade,
  kind text not null check (kind in ('ingest', 'reindex', 'sync')),
  status text not null default 'queued'
    check (status in ('queued', 'running', 'succeeded', 'failed')),
  -- What to do (small JSON); an upload's bytes live in job_inputs.
  payload jsonb not null default '{}',
  attempts int not null default 0,
  max_attempts int not null check (max_attempts between 1 and 100),
  -- Not before: the retry back-off.
  run_after timestamptz not null default now(),
  -- The claim: who holds it (a token per claim, so a lapsed holder cannot finish it) and until when.
  claim_token text,
  claimed_by text,
  lease_until timestamptz,
  progress jsonb,
  result jsonb,
  error text,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz
);

-- Workers look for queued jobs due now and for running jobs whose lease lapsed.
create index jobs_pending_idx on jobs (run_after, id) where status = 'queued';
create index jobs_running_idx on jobs (lease_until) where status = 'running';
create index jobs_site_idx on jobs (site_id, id desc);

-- The files of a queued upload, kept until the job finishes: any origin can run it.
create table job_inputs (
  job_id bigint not null references jobs (id) on delete cascade,
  position int not null,
  meta jsonb not null,
  content bytea not null,
  primary key (job_id, position)
);
