-- Per-site settings for readers and operators (suggested questions, hand-off link, language).
alter table sites add column if not exists settings jsonb not null default '{}';
