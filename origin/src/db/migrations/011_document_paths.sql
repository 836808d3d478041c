-- Documents uploaded from a folder were once keyed by their bare file name (`jwt.md`), so two
-- same-named files of one folder overwrote each other; they are now keyed by their path relative
-- to the ingested folder (`helpers/jwt.md`). A document stored under a bare name is marked here:
-- the first upload of a path ending in that name takes it over (ingestion re-keys it), so
-- re-ingesting an old site updates its documents instead of adding a second copy of each.
alter table documents add column if not exists keyed_by_name boolean not null default false;

update documents set keyed_by_name = true
where file_name is not null and source = file_name and strpos(source, '/') = 0;

-- A document's chunks in order: an answer reads the whole section of a retrieved chunk.
create index if not exists chunks_document_position_idx on chunks (document_id, position);
