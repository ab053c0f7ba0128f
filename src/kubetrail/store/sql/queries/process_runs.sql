-- Processes started in containers in a window, one row per (cluster, pod, container, binary),
-- and the runtime alerts about processes (Falco) beside them. $since/$until: ns; filters or NULL.
SELECT cluster, namespace, pod_name, any_value(pod_uid) AS pod_uid,
    -- Falco's hostname is often its own pod's name: the process sensor's node is preferred
    coalesce(any_value(node) FILTER (kind = 'process_exec'), any_value(node)) AS node,
    coalesce(container_name, container_id) AS container, any_value(image) AS image, any_value(workload_name) AS workload_name,
    "binary", arg_max(args, "time") AS args,
    count(*) FILTER (kind = 'process_exec') AS execs,
    list(DISTINCT rule || ' (' || coalesce(priority, '?') || ')') FILTER (kind = 'runtime_alert' AND rule IS NOT NULL) AS rules,
    epoch_ns(min("time")) AS first, epoch_ns(max("time")) AS last,
    list(id ORDER BY (kind = 'runtime_alert') DESC, "time" DESC, id) AS ids,
    arg_max(id, "time") FILTER (kind = 'process_exec') AS latest_exec
FROM events
WHERE kind IN ('process_exec', 'runtime_alert') AND "binary" IS NOT NULL AND pod_name IS NOT NULL
    AND "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until)
    AND ($cluster IS NULL OR cluster = $cluster)
    AND ($namespace IS NULL OR namespace = $namespace)
GROUP BY cluster, namespace, pod_name, coalesce(container_name, container_id), "binary"
