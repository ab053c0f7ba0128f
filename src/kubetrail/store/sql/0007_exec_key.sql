-- 0007: a narrow key for sensors' process ids, as 0006 is for event ids: walking a process's
-- ancestry (ask trace, the initiator of every unexpected process) looks processes up by
-- Tetragon exec_id, a ~50-character string; `exec_key` is the low 64 bits of its MD5.
ALTER TABLE events ADD COLUMN exec_key UBIGINT;
UPDATE events SET exec_key = md5_number_lower(exec_id) WHERE exec_id IS NOT NULL;
