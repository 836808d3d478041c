-- The chat stream an exchange was answered on, and the generation of its producer's lease. Several
-- origins share the streams (Redis): when one takes over an answer whose producer stopped renewing
-- its lease, that producer may still be alive (a long pause) and store the same exchange. Only the
-- highest generation's exchange stays: a lower one is refused, or replaced when it came first.
alter table messages add column stream_id text;
alter table messages add column stream_generation int;

create unique index messages_stream_idx on messages (stream_id, role) where stream_id is not null;
