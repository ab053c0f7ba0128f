-- The process_exec event of a sensor's process id (Tetragon exec_id), if stored. FINAL merges
-- only the granules of the times (the key's first column) rows of that exec_id have, found by a
-- read of that column alone: not the whole table.
SELECT e.id AS id, e.source AS source, e.kind AS kind, toUnixTimestamp64Nano(e.time) AS time, e.binary AS binary,
    e.args AS args, e.exec_id AS exec_id, e.parent_exec_id AS parent_exec_id, e.container_name AS container_name,
    e.namespace AS namespace, e.pod_name AS pod_name, e.summary AS summary
FROM processes AS e FINAL
WHERE e.time IN (SELECT time FROM processes WHERE exec_id = {exec_id:Nullable(String)})
    AND e.exec_id = {exec_id:Nullable(String)} AND e.cluster = {cluster:Nullable(String)} AND e.kind = 'process_exec'
ORDER BY e.time, e.id
LIMIT 1
