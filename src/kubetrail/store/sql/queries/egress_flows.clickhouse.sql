-- Connections opened by pods in a window (as DuckDB's opened_connections view, 0008: replies and
-- a destination's view of a connection are not connections), one row per (cluster, pod,
-- destination, port, protocol). DuckDB reads its hourly rollup (0010); every column of it merges
-- across hours as over the window's connections at once, which is what is aggregated here.
-- `ids`: the 20 newest of `flows`. `verdicts`, `names`: NULL when there are none (a Variant: an
-- Array cannot be NULL; an empty list field is stored as NULL, so none is never []).
-- {since}/{until}: ns; {cluster}/{namespace}: filters or NULL.
SELECT _cluster AS cluster, _namespace AS namespace, _pod_name AS pod_name, min(_workload) AS workload,
    min(_src_ip) AS src_ip, _dst_ip AS dst_ip, _port AS port, _protocol AS protocol,
    if(empty(groupUniqArrayIf(_verdict, _verdict IS NOT NULL)), CAST(NULL AS Variant(Array(String))),
       CAST(arraySort(groupUniqArrayIf(assumeNotNull(_verdict), _verdict IS NOT NULL)) AS Variant(Array(String)))) AS verdicts,
    if(empty(groupUniqArrayArray(_names)), CAST(NULL AS Variant(Array(String))),
       CAST(arraySort(groupUniqArrayArray(_names)) AS Variant(Array(String)))) AS names,
    CAST(max(has(_labels, 'reserved:kube-apiserver')) AS Bool) AS apiserver,
    count() AS flows, toUnixTimestamp64Nano(min(_time)) AS first, toUnixTimestamp64Nano(max(_time)) AS last,
    arrayMap(e -> e.2, groupArraySorted(20)((-toUnixTimestamp64Nano(_time), _id))) AS ids
FROM (
    SELECT id AS _id, cluster AS _cluster, time AS _time, dst_ip AS _dst_ip, dst_port AS _port,
        coalesce(protocol, 'unknown') AS _protocol, verdict AS _verdict, dst_names AS _names, dst_labels AS _labels,
        src_ip AS _src_ip, src_workload AS _workload,
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
GROUP BY _cluster, _namespace, _pod_name, _dst_ip, _port, _protocol
ORDER BY _cluster, _namespace, _pod_name, _dst_ip, _port, _protocol
