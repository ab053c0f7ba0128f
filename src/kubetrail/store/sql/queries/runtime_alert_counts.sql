-- How often each rule fired on each pod in a window: one row per (cluster, namespace, pod, rule,
-- priority), so that routine alerts are told from new ones without reading every alert.
-- $since/$until: ns; $cluster: filter or NULL.
SELECT cluster, namespace, pod_name, coalesce(rule, '') AS rule, priority, count(*) AS alerts
FROM events
WHERE kind = 'runtime_alert' AND pod_name IS NOT NULL
    AND "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until)
    AND ($cluster IS NULL OR cluster = $cluster)
GROUP BY ALL
