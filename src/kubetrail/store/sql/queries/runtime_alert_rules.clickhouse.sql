-- Which rules fired on which pods in a window: one row per (cluster, namespace, pod, rule), for
-- telling a workload's routine alerts from new ones ('' for an alert without a rule). DuckDB
-- reads its hourly rollup; here the window's alerts. {since}/{until}: ns; {cluster}: filter or NULL.
SELECT _cluster AS cluster, _namespace AS namespace, _pod_name AS pod_name, _rule AS rule
FROM (
    SELECT cluster AS _cluster, namespace AS _namespace, pod_name AS _pod_name, ifNull(rule, '') AS _rule
    FROM runtime_alerts FINAL
    WHERE kind = 'runtime_alert' AND pod_name IS NOT NULL
        AND time >= fromUnixTimestamp64Nano({since:Int64}) AND time < fromUnixTimestamp64Nano({until:Int64})
        AND ({cluster:Nullable(String)} IS NULL OR cluster = {cluster:Nullable(String)})
)
GROUP BY _cluster, _namespace, _pod_name, _rule
ORDER BY _cluster, _namespace, _pod_name, _rule
