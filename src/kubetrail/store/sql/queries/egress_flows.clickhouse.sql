-- Connections opened by pods in a window (as DuckDB's opened_connections view, 0008: replies and
-- a destination's view of a connection are not connections), one row per (cluster, pod,
-- destination, port, protocol). As DuckDB reads egress_hours_in (0010): the window's whole hours
-- from the hourly rollup (egress_hours, 0004), its partial hours from the connections.
-- `ids`: the 20 newest of `flows`. `verdicts`, `names`: NULL when there are none (a Variant: an
-- Array cannot be NULL; an empty list field is stored as NULL, so none is never []).
-- {since}/{until}: ns; {cluster}/{namespace}: filters or NULL.
WITH 3600000000000 AS _H,
    intDiv({since:Int64} + _H - 1, _H) < intDiv({until:Int64}, _H) AS _whole,
    if(_whole, intDiv({since:Int64} + _H - 1, _H) * _H, {until:Int64}) AS _lo,
    if(_whole, intDiv({until:Int64}, _H) * _H, {until:Int64}) AS _hi
SELECT _cluster AS cluster, _namespace AS namespace, _pod_name AS pod_name, min(_workload) AS workload,
    min(_src_ip) AS src_ip, _dst_ip AS dst_ip, _port AS port, _protocol AS protocol,
    if(empty(groupUniqArrayArray(_verdicts)), CAST(NULL AS Variant(Array(String))),
       CAST(arraySort(groupUniqArrayArray(_verdicts)) AS Variant(Array(String)))) AS verdicts,
    if(empty(groupUniqArrayArray(_names)), CAST(NULL AS Variant(Array(String))),
       CAST(arraySort(groupUniqArrayArray(_names)) AS Variant(Array(String)))) AS names,
    CAST(max(_apiserver) AS Bool) AS apiserver,
    sum(_flows) AS flows, toUnixTimestamp64Nano(min(_first)) AS first, toUnixTimestamp64Nano(max(_last)) AS last,
    arrayMap(e -> e.2, arraySlice(arraySort(groupUniqArrayArray(_ev)), 1, 20)) AS ids
FROM (
    SELECT cluster AS _cluster, namespace AS _namespace, pod_name AS _pod_name, dst_ip AS _dst_ip, port AS _port,
        protocol AS _protocol, min(workload) AS _workload, min(src_ip) AS _src_ip, groupUniqArrayArray(verdicts) AS _verdicts,
        groupUniqArrayArray(names) AS _names, max(apiserver) AS _apiserver, uniqExactMerge(flows) AS _flows,
        min(first) AS _first, max(last) AS _last, groupUniqArrayArray(ev) AS _ev
    FROM egress_hours
    WHERE hour >= toDateTime(intDiv(_lo, 1000000000), 'UTC') AND hour < toDateTime(intDiv(_hi, 1000000000), 'UTC')
        AND ({cluster:Nullable(String)} IS NULL OR cluster = {cluster:Nullable(String)})
        AND ({namespace:Nullable(String)} IS NULL OR namespace = {namespace:Nullable(String)})
    GROUP BY cluster, namespace, pod_name, dst_ip, port, protocol
    UNION ALL
    SELECT cluster, coalesce(src_namespace, namespace) AS _ns, assumeNotNull(coalesce(src_pod_name, pod_name)) AS _pod,
        assumeNotNull(dst_ip), dst_port, coalesce(protocol, 'unknown') AS _proto, min(src_workload), min(src_ip),
        groupUniqArrayIf(assumeNotNull(verdict), verdict IS NOT NULL), groupUniqArrayArray(dst_names),
        max(has(dst_labels, 'reserved:kube-apiserver')), count(), min(e.time), max(e.time),
        groupArraySorted(20)((-toUnixTimestamp64Nano(e.time), id))
    FROM flows e FINAL
    WHERE kind IN ('network_flow', 'http', 'dns') AND dst_ip IS NOT NULL
        AND ((source = 'hubble' AND src_pod_name IS NOT NULL AND NOT coalesce(is_reply, false)
              AND coalesce(direction, 'EGRESS') = 'EGRESS')
          OR (source = 'tetragon' AND pod_name IS NOT NULL AND direction = 'EGRESS'))
        AND ((e.time >= fromUnixTimestamp64Nano({since:Int64}) AND e.time < fromUnixTimestamp64Nano(_lo))
          OR (e.time >= fromUnixTimestamp64Nano(_hi) AND e.time < fromUnixTimestamp64Nano({until:Int64})))
        AND ({cluster:Nullable(String)} IS NULL OR cluster = {cluster:Nullable(String)})
        AND ({namespace:Nullable(String)} IS NULL OR coalesce(src_namespace, namespace) = {namespace:Nullable(String)})
    GROUP BY cluster, _ns, _pod, dst_ip, dst_port, _proto
)
GROUP BY _cluster, _namespace, _pod_name, _dst_ip, _port, _protocol
ORDER BY _cluster, _namespace, _pod_name, _dst_ip, _port, _protocol
