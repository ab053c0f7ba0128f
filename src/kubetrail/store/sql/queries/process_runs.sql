-- Processes started in containers in a window, one row per (cluster, pod, container, binary),
-- and the runtime alerts about processes (Falco) beside them; read from the hourly rollup (0010).
-- `ids`: the 20 most relevant of `events` (alerts first, then the newest).
-- $since/$until: ns; $cluster/$namespace: filters or NULL.
SELECT cluster, namespace, pod_name, any_value(pod_uid) AS pod_uid,
    -- Falco's hostname is often its own pod's name: the process sensor's node is preferred
    coalesce(any_value(exec_node), any_value(node)) AS node,
    container, any_value(image) AS image, any_value(workload_name) AS workload_name,
    "binary", arg_max(args, last) AS args, sum(execs) AS execs,
    list_distinct(flatten(list(rules) FILTER (rules IS NOT NULL))) AS rules,
    min(first) AS first, max(last) AS last, sum(events) AS events,
    list_transform(list_sort(flatten(list(ev)))[1:20], lambda e: e.id) AS ids,
    arg_max(latest_exec, latest_exec_time) AS latest_exec
FROM process_hours_in($since, $until)
WHERE ($cluster IS NULL OR cluster = $cluster) AND ($namespace IS NULL OR namespace = $namespace)
GROUP BY cluster, namespace, pod_name, container, "binary"
