-- The events traces start from, with the columns a trace reads (a whole row with its zstd
-- columns costs several times more), found on their key (0006): one scan for many events.
-- $ids: the event ids.
SELECT id, cluster, source, kind, epoch_ns("time") AS "time", summary, actor, impersonated_by, namespace, pod_name,
    container_name, "binary", exec_id, parent_exec_id, trace_id, span_id
FROM events
WHERE id_key IN (SELECT md5_number_lower(unnest($ids::VARCHAR[]))) AND id IN (SELECT unnest($ids::VARCHAR[]))
