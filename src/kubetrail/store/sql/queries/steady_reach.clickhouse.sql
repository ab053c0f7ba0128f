-- Who connected to steady channels' destinations in [{since}, {until}) ns ({since}: the start of
-- the baseline period before the window; {until}: the window's end): pods that connected to one
-- of {ips}, or to an address the sensor named with one of {names}, with their first connection
-- then. Whether a channel is its workload's design (correlate/steady.py) reads it. As DuckDB reads
-- its hourly rollup table (0010) alone: the rollup's rows (per cluster, pod, destination, port,
-- protocol, hour, of the connections as DuckDB's opened_connections view counts them, 0008) are
-- made here from the connections of the hours the window touches; a row of an hour at the edge
-- counts when one of its connections lies inside (its first before {until}, its last from {since}
-- on), and a row is a destination's when its address is one of {ips} or one of the names its hour
-- gave is one of {names}. `names`: sorted, NULL when there are none (a Variant: an Array cannot be
-- NULL). {cluster}: filter or NULL.
WITH hours AS (
    SELECT _cluster, _namespace, _pod_name, _dst_ip, min(_workload) AS _workload,
        groupUniqArrayArray(_names) AS _names,
        toUnixTimestamp64Nano(min(_time)) AS _first, toUnixTimestamp64Nano(max(_time)) AS _last
    FROM (
        SELECT cluster AS _cluster, time AS _time, dst_ip AS _dst_ip, dst_port AS _port,
            coalesce(protocol, 'unknown') AS _protocol, dst_names AS _names, src_workload AS _workload,
            coalesce(src_namespace, namespace) AS _namespace, coalesce(src_pod_name, pod_name) AS _pod_name
        FROM flows FINAL
        WHERE kind IN ('network_flow', 'http', 'dns') AND dst_ip IS NOT NULL
            AND ((source = 'hubble' AND src_pod_name IS NOT NULL AND NOT coalesce(is_reply, false)
                  AND coalesce(direction, 'EGRESS') = 'EGRESS')
              OR (source = 'tetragon' AND pod_name IS NOT NULL AND direction = 'EGRESS'))
            AND time >= fromUnixTimestamp64Nano(intDiv({since:Int64}, 3600000000000) * 3600000000000)
            AND time < fromUnixTimestamp64Nano((intDiv({until:Int64} - 1, 3600000000000) + 1) * 3600000000000)
            AND ({cluster:Nullable(String)} IS NULL OR cluster = {cluster:Nullable(String)})
    )
    GROUP BY _cluster, _namespace, _pod_name, _dst_ip, _port, _protocol, intDiv(toUnixTimestamp64Nano(_time), 3600000000000)
    HAVING _last >= {since:Int64} AND _first < {until:Int64}
        AND (_dst_ip IN {ips:Array(String)} OR hasAny(_names, {names:Array(String)}))
)
SELECT _cluster AS cluster, _namespace AS namespace, _pod_name AS pod_name, min(_workload) AS workload, _dst_ip AS dst_ip,
    if(empty(groupUniqArrayArray(_names)), CAST(NULL AS Variant(Array(String))),
       CAST(arraySort(groupUniqArrayArray(_names)) AS Variant(Array(String)))) AS names,
    min(_first) AS first
FROM hours
GROUP BY _cluster, _namespace, _pod_name, _dst_ip
ORDER BY _cluster, _namespace, _pod_name, _dst_ip
