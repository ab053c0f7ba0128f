-- Who connected to steady channels' destinations in [{since}, {until}) ns ({since}: the start of
-- the baseline period before the window; {until}: the window's end): pods that connected to one
-- of {ips}, or to an address the sensor named with one of {names}, with their first connection
-- then. Whether a channel is its workload's design (correlate/steady.py) reads it. As DuckDB, from
-- the hourly rollup alone (egress_hours, 0004), and exact: a row (cluster, pod, destination,
-- port, protocol, hour) of an hour at the edge counts when one of its connections lies inside (its
-- first before {until}, its last from {since} on), and is a destination's when its address is one
-- of {ips} or one of the names its hour gave is one of {names}. `names`: sorted, NULL when there
-- are none (a Variant: an Array cannot be NULL). {cluster}: filter or NULL.
WITH hours AS (
    SELECT cluster AS _cluster, namespace AS _namespace, pod_name AS _pod_name, dst_ip AS _dst_ip, port AS _port,
        min(workload) AS _workload, groupUniqArrayArray(names) AS _names,
        toUnixTimestamp64Nano(min(first)) AS _first, toUnixTimestamp64Nano(max(last)) AS _last
    FROM egress_hours
    WHERE hour >= toDateTime(intDiv({since:Int64}, 3600000000000) * 3600, 'UTC')
        AND hour < toDateTime(intDiv({until:Int64} + 999999999, 1000000000), 'UTC')
        AND ({cluster:Nullable(String)} IS NULL OR cluster = {cluster:Nullable(String)})
    GROUP BY cluster, namespace, pod_name, dst_ip, port, protocol, hour
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
