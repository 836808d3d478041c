-- Retention: the job deletes readers' conversations and messages past RETENTION_DAYS, and a
-- site's oldest conversations past MAX_CONVERSATIONS_PER_SITE. These indexes keep both cheap.
create index if not exists conversations_updated_idx on conversations (updated_at);
create index if not exists conversations_site_updated_idx on conversations (site_id, updated_at desc);
create index if not exists messages_created_idx on messages (created_at);
