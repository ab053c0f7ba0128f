-- The process_exec event of a sensor's process id (Tetragon exec_id), if stored; found on its key (0007).
SELECT id, source, kind, epoch_ns("time") AS "time", "binary", args, exec_id, parent_exec_id,
    container_name, namespace, pod_name, summary
FROM processes
WHERE exec_key = md5_number_lower($exec_id) AND exec_id = $exec_id AND cluster = $cluster AND kind = 'process_exec'
ORDER BY "time"
LIMIT 1
