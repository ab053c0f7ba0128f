-- Server spans of one pod that cover a time (within {skew}): those covering it exactly first (a
-- request that merely ended or began within the skew of it is the weaker match), innermost first
-- (latest start); or, with {trace_id}, the server spans of that trace, latest first.
-- {cluster}, {namespace}, {pod}, {at}, {skew}: ns.
-- FINAL merges only the granules of the times (the key's first column) the matching rows have,
-- found by a read of a column or two without it: not the whole table.
SELECT e.id AS id, e.source AS source, e.kind AS kind, toUnixTimestamp64Nano(e.time) AS time,
    toUnixTimestamp64Nano(e.end_time) AS end_time, e.trace_id AS trace_id, e.span_id AS span_id,
    e.http_route AS http_route, e.span_name AS span_name, e.enduser_id AS enduser_id, e.service_name AS service_name,
    coalesce(e.summary, e.span_name) AS summary, e.namespace AS namespace, e.pod_name AS pod_name
FROM spans AS e FINAL
WHERE e.time IN (
        SELECT time FROM spans
        WHERE {trace_id:Nullable(String)} IS NOT NULL AND trace_id = {trace_id:Nullable(String)}
        UNION ALL
        SELECT time FROM spans
        WHERE {trace_id:Nullable(String)} IS NULL AND pod_name = {pod:Nullable(String)}
            AND time <= fromUnixTimestamp64Nano({at:Int64} + {skew:Int64})
            AND end_time >= fromUnixTimestamp64Nano({at:Int64} - {skew:Int64}))
    AND e.kind = 'span' AND e.span_kind = 'server' AND e.cluster = {cluster:Nullable(String)}
    AND (
        ({trace_id:Nullable(String)} IS NOT NULL AND e.trace_id = {trace_id:Nullable(String)})
        OR ({trace_id:Nullable(String)} IS NULL AND e.namespace = {namespace:Nullable(String)} AND e.pod_name = {pod:Nullable(String)}
            AND e.time <= fromUnixTimestamp64Nano({at:Int64} + {skew:Int64})
            AND e.end_time >= fromUnixTimestamp64Nano({at:Int64} - {skew:Int64}))
    )
ORDER BY ({trace_id:Nullable(String)} IS NULL AND e.time <= fromUnixTimestamp64Nano({at:Int64})
          AND e.end_time >= fromUnixTimestamp64Nano({at:Int64})) DESC NULLS LAST,
    e.time DESC, e.id
