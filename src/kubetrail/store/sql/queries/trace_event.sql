-- The event a trace starts from, with the columns a trace reads (a whole row with its zstd
-- columns costs several times more), found on its key (0006). $id: the event id.
SELECT id, cluster, source, kind, epoch_ns("time") AS "time", summary, actor, impersonated_by, namespace, pod_name,
    container_name, "binary", exec_id, parent_exec_id, trace_id, span_id
FROM events
WHERE id_key = md5_number_lower($id) AND id = $id
