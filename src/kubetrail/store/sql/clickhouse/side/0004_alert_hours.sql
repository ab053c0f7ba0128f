-- The rows of alert_hours (0004) of a batch's events: runtime alerts in pods, per (cluster, pod,
-- rule, priority, hour), as DuckDB's alert_hours_of (0010).
INSERT INTO alert_hours
SELECT assumeNotNull(cluster), namespace, assumeNotNull(pod_name), ifNull(rule, '') AS _rule, priority,
    toStartOfHour(assumeNotNull(time)) AS _hour, uniqExactState(assumeNotNull(id))
FROM {batch}
WHERE kind = 'runtime_alert' AND pod_name IS NOT NULL
GROUP BY cluster, namespace, pod_name, _rule, priority, _hour;
