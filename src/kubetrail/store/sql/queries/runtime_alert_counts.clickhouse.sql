-- How often each rule fired on each pod in a window: one row per (cluster, namespace, pod, rule,
-- priority), so that routine alerts are told from new ones without reading every alert ('' for
-- an alert without a rule). As DuckDB reads alert_hours_in (0010): the window's whole hours from
-- the hourly rollup (alert_hours, 0004), its partial hours from the alerts.
-- {since}/{until}: ns; {cluster}: filter or NULL.
WITH 3600000000000 AS _H,
    intDiv({since:Int64} + _H - 1, _H) < intDiv({until:Int64}, _H) AS _whole,
    if(_whole, intDiv({since:Int64} + _H - 1, _H) * _H, {until:Int64}) AS _lo,
    if(_whole, intDiv({until:Int64}, _H) * _H, {until:Int64}) AS _hi
SELECT _cluster AS cluster, _namespace AS namespace, _pod_name AS pod_name, _rule AS rule, _priority AS priority,
    sum(_alerts) AS alerts
FROM (
    SELECT cluster AS _cluster, namespace AS _namespace, pod_name AS _pod_name, rule AS _rule, priority AS _priority,
        uniqExactMerge(alerts) AS _alerts
    FROM alert_hours
    WHERE hour >= toDateTime(intDiv(_lo, 1000000000), 'UTC') AND hour < toDateTime(intDiv(_hi, 1000000000), 'UTC')
        AND ({cluster:Nullable(String)} IS NULL OR cluster = {cluster:Nullable(String)})
    GROUP BY cluster, namespace, pod_name, rule, priority
    UNION ALL
    SELECT cluster, namespace, assumeNotNull(pod_name), ifNull(rule, '') AS _r, priority, count()
    FROM runtime_alerts e FINAL
    WHERE kind = 'runtime_alert' AND pod_name IS NOT NULL
        AND ((e.time >= fromUnixTimestamp64Nano({since:Int64}) AND e.time < fromUnixTimestamp64Nano(_lo))
          OR (e.time >= fromUnixTimestamp64Nano(_hi) AND e.time < fromUnixTimestamp64Nano({until:Int64})))
        AND ({cluster:Nullable(String)} IS NULL OR cluster = {cluster:Nullable(String)})
    GROUP BY cluster, namespace, pod_name, _r, priority
)
GROUP BY _cluster, _namespace, _pod_name, _rule, _priority
ORDER BY _cluster, _namespace, _pod_name, _rule, _priority
