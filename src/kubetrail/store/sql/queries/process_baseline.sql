-- What pods ran in a baseline period: per (cluster, pod, binary), how many process starts and
-- when (no evidence ids, arguments or alerts: a baseline is only compared against).
-- $since/$until: ns; $cluster/$namespace: filters or NULL.
SELECT cluster, namespace, pod_name, any_value(workload_name) AS workload_name, "binary",
    count(*) AS execs, epoch_ns(min("time")) AS first, epoch_ns(max("time")) AS last
FROM events
WHERE kind = 'process_exec' AND "binary" IS NOT NULL AND pod_name IS NOT NULL
    AND "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until)
    AND ($cluster IS NULL OR cluster = $cluster)
    AND ($namespace IS NULL OR namespace = $namespace)
GROUP BY cluster, namespace, pod_name, "binary"
