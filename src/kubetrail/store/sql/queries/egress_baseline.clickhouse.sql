-- Where pods connected in a baseline period: per (cluster, pod, destination, port), how often
-- and when, and the names the sensor gave the destination (no evidence: a baseline is only
-- compared against). Connections as DuckDB's opened_connections view (0008); DuckDB reads its
-- hourly rollup (0010), whose columns merge across hours as over the period's connections at
-- once, which is what is aggregated here. `names`: NULL when there are none (a Variant: an Array
-- cannot be NULL). {since}/{until}: ns; {cluster}/{namespace}: filters or NULL.
SELECT _cluster AS cluster, _namespace AS namespace, _pod_name AS pod_name, min(_workload) AS workload,
    _dst_ip AS dst_ip, _port AS port,
    if(empty(groupUniqArrayArray(_names)), CAST(NULL AS Variant(Array(String))),
       CAST(arraySort(groupUniqArrayArray(_names)) AS Variant(Array(String)))) AS names,
    count() AS flows, toUnixTimestamp64Nano(min(_time)) AS first, toUnixTimestamp64Nano(max(_time)) AS last
FROM (
    SELECT cluster AS _cluster, time AS _time, dst_ip AS _dst_ip, dst_port AS _port, dst_names AS _names,
        src_workload AS _workload,
        coalesce(src_namespace, namespace) AS _namespace, coalesce(src_pod_name, pod_name) AS _pod_name
    FROM flows FINAL
    WHERE kind IN ('network_flow', 'http', 'dns') AND dst_ip IS NOT NULL
        AND ((source = 'hubble' AND src_pod_name IS NOT NULL AND NOT coalesce(is_reply, false)
              AND coalesce(direction, 'EGRESS') = 'EGRESS')
          OR (source = 'tetragon' AND pod_name IS NOT NULL AND direction = 'EGRESS'))
        AND time >= fromUnixTimestamp64Nano({since:Int64}) AND time < fromUnixTimestamp64Nano({until:Int64})
        AND ({cluster:Nullable(String)} IS NULL OR cluster = {cluster:Nullable(String)})
)
WHERE {namespace:Nullable(String)} IS NULL OR _namespace = {namespace:Nullable(String)}
GROUP BY _cluster, _namespace, _pod_name, _dst_ip, _port
ORDER BY _cluster, _namespace, _pod_name, _dst_ip, _port
