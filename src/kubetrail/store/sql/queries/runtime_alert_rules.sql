-- Which rules fired on which pods in a window: one row per (cluster, namespace, pod, rule), for
-- telling a workload's routine alerts from new ones without reading every alert.
-- $since/$until: ns; $cluster: filter or NULL.
SELECT DISTINCT cluster, namespace, pod_name, rule
FROM events
WHERE kind = 'runtime_alert' AND pod_name IS NOT NULL
    AND "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until)
    AND ($cluster IS NULL OR cluster = $cluster)
