-- How often each rule fired on each pod in a window: one row per (cluster, namespace, pod, rule,
-- priority), so that routine alerts are told from new ones without reading every alert; read
-- from the hourly rollup (0010). $since/$until: ns; $cluster: filter or NULL.
SELECT cluster, namespace, pod_name, rule, priority, sum(alerts) AS alerts
FROM alert_hours_in($since, $until)
WHERE $cluster IS NULL OR cluster = $cluster
GROUP BY ALL
