-- The process_exec event of a sensor's process id (Tetragon exec_id), if stored.
SELECT id, source, kind, epoch_ns("time") AS "time", "binary", args, exec_id, parent_exec_id,
    container_name, namespace, pod_name, summary
FROM events
WHERE cluster = $cluster AND exec_id = $exec_id AND kind = 'process_exec'
ORDER BY "time"
LIMIT 1
