-- What steady channels out are looked for in (answers/incidents.py): every pod's connections in
-- the window (`whole_pod`: to anything), and, of the pods that connected at least
-- {min_connections} times over at least {min_span} ns to addresses outside the private ranges,
-- their connections per (destination address, port), with the names the sensor gave them. A
-- superset, read as DuckDB reads it from its hourly rollup (0010) alone: from egress_hours (0004),
-- the rows (cluster, pod, destination, port, protocol, hour) of the hours the window touches; a
-- row of an hour at the edge counts whole when one of its connections lies inside (a pod's first
-- and last are clamped to the window); rhythms are judged per destination name, which may stand
-- for several addresses (steady_egress.sql, exact). Private ranges (RFC 1918, RFC 6598, IPv6 ULA:
-- the defaults of identity/scope.DEFAULT_INTERNAL) are never external, so they are left out here.
-- `names`: sorted, NULL when there are none (a Variant: an Array cannot be NULL).
-- {since}/{until}: ns; {cluster}: filter or NULL.
WITH hours AS (
    SELECT cluster AS _cluster, namespace AS _namespace, pod_name AS _pod_name, dst_ip AS _dst_ip, port AS _port,
        min(workload) AS _workload, groupUniqArrayArray(names) AS _names, uniqExactMerge(flows) AS _flows,
        toUnixTimestamp64Nano(min(first)) AS _first, toUnixTimestamp64Nano(max(last)) AS _last
    FROM egress_hours
    WHERE hour >= toDateTime(intDiv({since:Int64}, 3600000000000) * 3600, 'UTC')
        AND hour < toDateTime(intDiv({until:Int64} + 999999999, 1000000000), 'UTC')
        AND ({cluster:Nullable(String)} IS NULL OR cluster = {cluster:Nullable(String)})
    GROUP BY cluster, namespace, pod_name, dst_ip, port, protocol, hour
    HAVING _last >= {since:Int64} AND _first < {until:Int64}
), candidates AS (
    SELECT _cluster, _namespace, _pod_name, min(_workload) AS _workload, CAST(NULL AS Nullable(String)) AS _dst_ip,
        CAST(NULL AS Nullable(Int32)) AS _port, groupUniqArrayArray(_names) AS _names, sum(_flows) AS _flows,
        greatest(min(_first), {since:Int64}) AS _first, least(max(_last), {until:Int64} - 1) AS _last, true AS _whole_pod
    FROM hours
    GROUP BY _cluster, _namespace, _pod_name
    UNION ALL
    SELECT _cluster, _namespace, _pod_name, min(_workload), _dst_ip, _port, groupUniqArrayArray(_names), sum(_flows),
        greatest(min(_first), {since:Int64}), least(max(_last), {until:Int64} - 1), false
    FROM hours
    WHERE NOT match(_dst_ip, '^(10\\.|192\\.168\\.|172\\.(1[6-9]|2[0-9]|3[01])\\.|100\\.(6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])\\.|f[cd])')
    GROUP BY _cluster, _namespace, _pod_name, _dst_ip, _port
)
SELECT _cluster AS cluster, _namespace AS namespace, _pod_name AS pod_name, _workload AS workload, _dst_ip AS dst_ip,
    _port AS port,
    if(empty(_names), CAST(NULL AS Variant(Array(String))), CAST(arraySort(_names) AS Variant(Array(String)))) AS names,
    _flows AS flows, _first AS first, _last AS last, _whole_pod AS whole_pod
FROM (
    SELECT *, sum(_flows) OVER pod AS _pod_flows, max(_last) OVER pod - min(_first) OVER pod AS _pod_span
    FROM candidates
    WINDOW pod AS (PARTITION BY _cluster, _namespace, _pod_name, _whole_pod)
)
WHERE _whole_pod OR (_pod_flows >= {min_connections:Int64} AND _pod_span >= {min_span:Int64})
ORDER BY _cluster, _namespace, _pod_name, _whole_pod DESC, _dst_ip, _port
