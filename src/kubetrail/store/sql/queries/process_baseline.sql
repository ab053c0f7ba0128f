-- What pods ran in a baseline period: per (cluster, pod, binary), how many process starts and
-- when (no evidence: a baseline is only compared against); read from the hourly rollup (0010).
-- $since/$until: ns; $cluster/$namespace: filters or NULL.
SELECT cluster, namespace, pod_name, any_value(workload_name) AS workload_name, "binary",
    sum(execs) AS execs, min(first_exec) AS first, max(latest_exec_time) AS last
FROM process_hours_in($since, $until)
WHERE execs > 0 AND ($cluster IS NULL OR cluster = $cluster) AND ($namespace IS NULL OR namespace = $namespace)
GROUP BY cluster, namespace, pod_name, "binary"
