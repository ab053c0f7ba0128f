-- The process_exec events of a cluster's sensor process ids (Tetragon exec_id), if stored: the
-- first of each, found on their keys (0007). Asked for many at once: the ancestors of every
-- traced process, a generation at a time. $cluster; $exec_ids: the exec_ids.
SELECT id, source, kind, epoch_ns("time") AS "time", "binary", args, exec_id, parent_exec_id,
    container_name, namespace, pod_name, summary
FROM processes
WHERE exec_key IN (SELECT md5_number_lower(unnest($exec_ids::VARCHAR[]))) AND list_contains($exec_ids, exec_id)
    AND cluster = $cluster AND kind = 'process_exec'
QUALIFY row_number() OVER (PARTITION BY exec_id ORDER BY "time", id) = 1
