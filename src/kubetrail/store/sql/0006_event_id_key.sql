-- 0006: a narrow key to find events by id. Ids are 32-character strings; scanning them for one
-- (show, trace and every trace step; dedupe of every batch) took ~50 ms at 1M events and grows
-- with the store, and an index does not fit the memory limit (see 0003). `id_key` is the low 64
-- bits of the id's MD5 (stable across DuckDB versions, unlike hash()); lookups scan it and then
-- compare the ids of the few rows it matches. Written by the store on insert, not an event field.
ALTER TABLE events ADD COLUMN id_key UBIGINT;
UPDATE events SET id_key = md5_number_lower(id);
