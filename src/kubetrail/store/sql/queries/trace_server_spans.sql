-- The server spans of a trace, latest first (the last is the request as it entered).
-- $cluster, $trace_id.
SELECT id, source, kind, epoch_ns("time") AS "time", epoch_ns(end_time) AS end_time, trace_id, span_id, http_route, span_name,
    enduser_id, service_name, coalesce(summary, span_name) AS summary, namespace, pod_name
FROM spans
WHERE kind = 'span' AND span_kind = 'server' AND cluster = $cluster AND trace_id = $trace_id
ORDER BY "time" DESC, id
