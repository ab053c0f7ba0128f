-- Server spans of one pod that cover a time (within $skew): those covering it exactly first (a
-- request that merely ended or began within the skew of it is the weaker match), innermost first
-- (latest start); or, with $trace_id, the server spans of that trace, latest first.
-- $cluster, $namespace, $pod, $at, $skew: ns.
SELECT id, source, kind, epoch_ns("time") AS "time", epoch_ns(end_time) AS end_time, trace_id, span_id, http_route, span_name,
    enduser_id, service_name, coalesce(summary, span_name) AS summary, namespace, pod_name
FROM spans
WHERE kind = 'span' AND span_kind = 'server' AND cluster = $cluster
    AND (
        ($trace_id IS NOT NULL AND trace_id = $trace_id)
        OR ($trace_id IS NULL AND namespace = $namespace AND pod_name = $pod
            AND "time" <= make_timestamp_ns($at + $skew) AND end_time >= make_timestamp_ns($at - $skew))
    )
ORDER BY ($trace_id IS NULL AND "time" <= make_timestamp_ns($at) AND end_time >= make_timestamp_ns($at)) DESC,
    "time" DESC, id
