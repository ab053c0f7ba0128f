-- The server span covering a time in a pod, for many asks at once: ask i is the time {ats}[i] ns
-- (within {skew} ns) in pod {namespaces}[i]/{pods}[i] of cluster {clusters}[i], named {asks}[i]
-- in the rows. Of the spans of an ask, the one covering the time exactly first (a request that
-- merely ended or began within the skew of it is the weaker match), then the innermost (latest
-- start): one row per ask that has any. FINAL merges only the granules of the times (the key's
-- first column) of the rows of those pods around those times, found by a read of a few columns.
SELECT q.ask AS ask, e.id AS id, e.source AS source, e.kind AS kind, toUnixTimestamp64Nano(e.time) AS time,
    toUnixTimestamp64Nano(e.end_time) AS end_time, e.trace_id AS trace_id, e.span_id AS span_id,
    e.http_route AS http_route, e.span_name AS span_name, e.enduser_id AS enduser_id, e.service_name AS service_name,
    coalesce(e.summary, e.span_name) AS summary, e.namespace AS namespace, e.pod_name AS pod_name
FROM spans AS e FINAL
INNER JOIN (
    SELECT a.1 AS ask, a.2 AS cluster, a.3 AS namespace, a.4 AS pod_name, a.5 AS at
    FROM (SELECT arrayJoin(arrayZip({asks:Array(String)}, {clusters:Array(String)}, {namespaces:Array(String)},
                                    {pods:Array(String)}, {ats:Array(Int64)})) AS a)
) AS q ON e.cluster = q.cluster AND e.namespace = q.namespace AND e.pod_name = q.pod_name
WHERE e.time IN (
        SELECT time FROM spans
        WHERE pod_name IN {pods:Array(String)}
            AND time <= fromUnixTimestamp64Nano(arrayMax({ats:Array(Int64)}) + {skew:Int64})
            AND end_time >= fromUnixTimestamp64Nano(arrayMin({ats:Array(Int64)}) - {skew:Int64}))
    AND e.kind = 'span' AND e.span_kind = 'server'
    AND e.time <= fromUnixTimestamp64Nano(q.at + {skew:Int64}) AND e.end_time >= fromUnixTimestamp64Nano(q.at - {skew:Int64})
ORDER BY ask, (e.time <= fromUnixTimestamp64Nano(q.at) AND e.end_time >= fromUnixTimestamp64Nano(q.at)) DESC NULLS LAST,
    e.time DESC, e.id
LIMIT 1 BY ask
