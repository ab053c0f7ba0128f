-- The server span covering a time in a pod, for many asks at once: ask i is the time $ats[i] ns
-- (within $skew ns) in pod $namespaces[i]/$pods[i] of cluster $clusters[i], named $asks[i] in
-- the rows. Of the spans of an ask, the one covering the time exactly first (a request that
-- merely ended or began within the skew of it is the weaker match), then the innermost (latest
-- start): one row per ask that has any.
WITH asked AS (
    SELECT unnest($asks::VARCHAR[]) AS ask, unnest($clusters::VARCHAR[]) AS cluster,
        unnest($namespaces::VARCHAR[]) AS namespace, unnest($pods::VARCHAR[]) AS pod_name, unnest($ats::BIGINT[]) AS at
)
SELECT a.ask, s.id, s.source, s.kind, epoch_ns(s."time") AS "time", epoch_ns(s.end_time) AS end_time, s.trace_id, s.span_id,
    s.http_route, s.span_name, s.enduser_id, s.service_name, coalesce(s.summary, s.span_name) AS summary, s.namespace, s.pod_name
FROM asked a
JOIN spans s ON s.cluster = a.cluster AND s.namespace = a.namespace AND s.pod_name = a.pod_name
    AND s."time" <= make_timestamp_ns(a.at + $skew) AND s.end_time >= make_timestamp_ns(a.at - $skew)
WHERE s.kind = 'span' AND s.span_kind = 'server'
QUALIFY row_number() OVER (
    PARTITION BY a.ask
    ORDER BY (s."time" <= make_timestamp_ns(a.at) AND s.end_time >= make_timestamp_ns(a.at)) DESC, s."time" DESC, s.id
) = 1
