-- Console sessions signed out, shared by every origin: a session cookie is stateless (any origin
-- with the admin token accepts it), so signing out on one origin must reach the others. Only a
-- hash of the cookie is kept, until the session would have expired anyway.
create table if not exists admin_signouts (
  session_hash text primary key,
  expires_at timestamptz not null
);
create index if not exists admin_signouts_expires_idx on admin_signouts (expires_at);
