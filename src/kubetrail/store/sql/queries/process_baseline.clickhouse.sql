-- What pods ran in a baseline period: per (cluster, pod, binary), how many process starts and
-- when (no evidence: a baseline is only compared against). DuckDB reads its hourly rollup (0010):
-- the same rows, per (cluster, pod, container, binary, hour), are made here from the window's
-- events, and only those of hours with process starts count. {since}/{until}: ns;
-- {cluster}/{namespace}: filters or NULL.
WITH hours AS (
    SELECT _cluster, _namespace, _pod_name, _container, _binary, intDiv(toUnixTimestamp64Nano(_time), 3600000000000) AS _hour,
        min(_workload_name) AS _workload_name, countIf(_kind = 'process_exec') AS _execs,
        minIf(toUnixTimestamp64Nano(_time), _kind = 'process_exec') AS _first_exec,
        maxIf(toUnixTimestamp64Nano(_time), _kind = 'process_exec') AS _latest_exec_time
    FROM (
        SELECT kind AS _kind, time AS _time, cluster AS _cluster, namespace AS _namespace, pod_name AS _pod_name,
            coalesce(container_name, container_id) AS _container, binary AS _binary, workload_name AS _workload_name
        FROM processes FINAL
        WHERE kind = 'process_exec' AND binary IS NOT NULL AND pod_name IS NOT NULL
            AND time >= fromUnixTimestamp64Nano({since:Int64}) AND time < fromUnixTimestamp64Nano({until:Int64})
            AND ({cluster:Nullable(String)} IS NULL OR cluster = {cluster:Nullable(String)})
            AND ({namespace:Nullable(String)} IS NULL OR namespace = {namespace:Nullable(String)})
        UNION ALL
        SELECT kind, time, cluster, namespace, pod_name, coalesce(container_name, container_id), binary, workload_name
        FROM runtime_alerts FINAL
        WHERE kind = 'runtime_alert' AND binary IS NOT NULL AND pod_name IS NOT NULL
            AND time >= fromUnixTimestamp64Nano({since:Int64}) AND time < fromUnixTimestamp64Nano({until:Int64})
            AND ({cluster:Nullable(String)} IS NULL OR cluster = {cluster:Nullable(String)})
            AND ({namespace:Nullable(String)} IS NULL OR namespace = {namespace:Nullable(String)})
    )
    GROUP BY _cluster, _namespace, _pod_name, _container, _binary, _hour
)
SELECT _cluster AS cluster, _namespace AS namespace, _pod_name AS pod_name, min(_workload_name) AS workload_name,
    _binary AS binary, sum(_execs) AS execs, min(_first_exec) AS first, max(_latest_exec_time) AS last
FROM hours
WHERE _execs > 0
GROUP BY _cluster, _namespace, _pod_name, _binary
ORDER BY _cluster, _namespace, _pod_name, _binary
