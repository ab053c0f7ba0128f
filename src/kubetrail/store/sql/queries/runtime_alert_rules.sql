-- Which rules fired on which pods in a window: one row per (cluster, namespace, pod, rule), for
-- telling a workload's routine alerts from new ones; read from the hourly rollup (0010).
-- $since/$until: ns; $cluster: filter or NULL.
SELECT DISTINCT cluster, namespace, pod_name, rule
FROM alert_hours_in($since, $until)
WHERE $cluster IS NULL OR cluster = $cluster
