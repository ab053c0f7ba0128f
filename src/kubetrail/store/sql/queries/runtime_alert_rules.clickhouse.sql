-- Which rules fired on which pods in a window: one row per (cluster, namespace, pod, rule), for
-- telling a workload's routine alerts from new ones ('' for an alert without a rule). As DuckDB
-- reads alert_hours_in (0010): the window's whole hours from the hourly rollup (alert_hours,
-- 0004), its partial hours from the alerts. {since}/{until}: ns; {cluster}: filter or NULL.
WITH 3600000000000 AS _H,
    intDiv({since:Int64} + _H - 1, _H) < intDiv({until:Int64}, _H) AS _whole,
    if(_whole, intDiv({since:Int64} + _H - 1, _H) * _H, {until:Int64}) AS _lo,
    if(_whole, intDiv({until:Int64}, _H) * _H, {until:Int64}) AS _hi
SELECT _cluster AS cluster, _namespace AS namespace, _pod_name AS pod_name, _rule AS rule
FROM (
    SELECT cluster AS _cluster, namespace AS _namespace, pod_name AS _pod_name, rule AS _rule
    FROM alert_hours
    WHERE hour >= toDateTime(intDiv(_lo, 1000000000), 'UTC') AND hour < toDateTime(intDiv(_hi, 1000000000), 'UTC')
        AND ({cluster:Nullable(String)} IS NULL OR cluster = {cluster:Nullable(String)})
    UNION ALL
    SELECT cluster, namespace, assumeNotNull(pod_name), ifNull(rule, '')
    FROM runtime_alerts e FINAL
    WHERE kind = 'runtime_alert' AND pod_name IS NOT NULL
        AND ((e.time >= fromUnixTimestamp64Nano({since:Int64}) AND e.time < fromUnixTimestamp64Nano(_lo))
          OR (e.time >= fromUnixTimestamp64Nano(_hi) AND e.time < fromUnixTimestamp64Nano({until:Int64})))
        AND ({cluster:Nullable(String)} IS NULL OR cluster = {cluster:Nullable(String)})
)
GROUP BY _cluster, _namespace, _pod_name, _rule
ORDER BY _cluster, _namespace, _pod_name, _rule
