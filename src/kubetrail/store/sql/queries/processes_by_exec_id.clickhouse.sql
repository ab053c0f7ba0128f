-- The process_exec events of a cluster's sensor process ids (Tetragon exec_id), if stored: the
-- first of each. Asked for many at once: the ancestors of every traced process, a generation at
-- a time. {cluster}; {exec_ids}: the exec_ids. FINAL merges only the granules of the times (the
-- key's first column) rows of those exec_ids have, found by a read of that column alone.
SELECT e.id AS id, e.source AS source, e.kind AS kind, toUnixTimestamp64Nano(e.time) AS time, e.binary AS binary,
    e.args AS args, e.exec_id AS exec_id, e.parent_exec_id AS parent_exec_id, e.container_name AS container_name,
    e.namespace AS namespace, e.pod_name AS pod_name, e.summary AS summary
FROM processes AS e FINAL
WHERE e.time IN (SELECT time FROM processes WHERE exec_id IN {exec_ids:Array(String)})
    AND e.exec_id IN {exec_ids:Array(String)} AND e.cluster = {cluster:Nullable(String)} AND e.kind = 'process_exec'
ORDER BY e.exec_id, e.time, e.id
LIMIT 1 BY e.exec_id
