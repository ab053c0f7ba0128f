-- The server spans of a trace, latest first (the last is the request as it entered).
-- {cluster}, {trace_id}. FINAL merges only the granules of the times (the key's first column)
-- the trace's rows have, found by a read of a column or two without it: not the whole table.
SELECT e.id AS id, e.source AS source, e.kind AS kind, toUnixTimestamp64Nano(e.time) AS time,
    toUnixTimestamp64Nano(e.end_time) AS end_time, e.trace_id AS trace_id, e.span_id AS span_id,
    e.http_route AS http_route, e.span_name AS span_name, e.enduser_id AS enduser_id, e.service_name AS service_name,
    coalesce(e.summary, e.span_name) AS summary, e.namespace AS namespace, e.pod_name AS pod_name
FROM spans AS e FINAL
WHERE e.time IN (SELECT time FROM spans WHERE trace_id = {trace_id:Nullable(String)})
    AND e.kind = 'span' AND e.span_kind = 'server' AND e.cluster = {cluster:Nullable(String)}
    AND e.trace_id = {trace_id:Nullable(String)}
ORDER BY e.time DESC, e.id
