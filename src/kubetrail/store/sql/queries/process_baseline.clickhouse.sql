-- What pods ran in a baseline period: per (cluster, pod, binary), how many process starts and
-- when (no evidence: a baseline is only compared against). As DuckDB reads process_hours_in
-- (0010): the rows per (cluster, pod, container, binary, hour) of the period's whole hours from
-- the hourly rollup (process_hours, 0004), of its partial hours from the events, and only those
-- of hours with process starts count. {since}/{until}: ns; {cluster}/{namespace}: filters or NULL.
WITH 3600000000000 AS _H,
    intDiv({since:Int64} + _H - 1, _H) < intDiv({until:Int64}, _H) AS _whole,
    if(_whole, intDiv({since:Int64} + _H - 1, _H) * _H, {until:Int64}) AS _lo,
    if(_whole, intDiv({until:Int64}, _H) * _H, {until:Int64}) AS _hi
SELECT _cluster AS cluster, _namespace AS namespace, _pod_name AS pod_name, min(_workload_name) AS workload_name,
    _binary AS binary, sum(_execs) AS execs, toUnixTimestamp64Nano(min(_first_exec)) AS first,
    toUnixTimestamp64Nano(max(_latest_exec_time)) AS last
FROM (
    SELECT cluster AS _cluster, namespace AS _namespace, pod_name AS _pod_name, `binary` AS _binary,
        min(workload_name) AS _workload_name, uniqExactMerge(execs) AS _execs, min(first_exec) AS _first_exec,
        max(latest_exec_time) AS _latest_exec_time
    FROM process_hours
    WHERE hour >= toDateTime(intDiv(_lo, 1000000000), 'UTC') AND hour < toDateTime(intDiv(_hi, 1000000000), 'UTC')
        AND ({cluster:Nullable(String)} IS NULL OR cluster = {cluster:Nullable(String)})
        AND ({namespace:Nullable(String)} IS NULL OR namespace = {namespace:Nullable(String)})
    GROUP BY cluster, namespace, pod_name, container, `binary`, hour
    HAVING _first_exec IS NOT NULL
    UNION ALL
    SELECT _c, _ns, _pod, _bin, min(_workload_name), countIf(_exec), minIf(toNullable(_time), _exec) AS _fe,
        maxIf(toNullable(_time), _exec)
    FROM (
        SELECT true AS _exec, e.time AS _time, cluster AS _c, namespace AS _ns, assumeNotNull(pod_name) AS _pod,
            coalesce(container_name, container_id) AS _ctr, assumeNotNull(binary) AS _bin, workload_name AS _workload_name
        FROM processes e FINAL
        WHERE kind = 'process_exec' AND binary IS NOT NULL AND pod_name IS NOT NULL
            AND ((e.time >= fromUnixTimestamp64Nano({since:Int64}) AND e.time < fromUnixTimestamp64Nano(_lo))
              OR (e.time >= fromUnixTimestamp64Nano(_hi) AND e.time < fromUnixTimestamp64Nano({until:Int64})))
            AND ({cluster:Nullable(String)} IS NULL OR cluster = {cluster:Nullable(String)})
            AND ({namespace:Nullable(String)} IS NULL OR namespace = {namespace:Nullable(String)})
        UNION ALL
        SELECT false, e.time, cluster, namespace, assumeNotNull(pod_name), coalesce(container_name, container_id),
            assumeNotNull(binary), workload_name
        FROM runtime_alerts e FINAL
        WHERE kind = 'runtime_alert' AND binary IS NOT NULL AND pod_name IS NOT NULL
            AND ((e.time >= fromUnixTimestamp64Nano({since:Int64}) AND e.time < fromUnixTimestamp64Nano(_lo))
              OR (e.time >= fromUnixTimestamp64Nano(_hi) AND e.time < fromUnixTimestamp64Nano({until:Int64})))
            AND ({cluster:Nullable(String)} IS NULL OR cluster = {cluster:Nullable(String)})
            AND ({namespace:Nullable(String)} IS NULL OR namespace = {namespace:Nullable(String)})
    )
    GROUP BY _c, _ns, _pod, _ctr, _bin, toStartOfHour(_time)
    HAVING _fe IS NOT NULL
)
GROUP BY _cluster, _namespace, _pod_name, _binary
ORDER BY _cluster, _namespace, _pod_name, _binary
