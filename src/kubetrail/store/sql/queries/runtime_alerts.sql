-- Runtime alerts (Falco rules, Tetragon policies) in pods in a window, of the (pod, rule)
-- pairs asked for: $keys lists 'cluster|namespace|pod|rule' ('' for no rule).
-- $since/$until: ns; $cluster: filter or NULL.
SELECT id, cluster, source, kind, epoch_ns("time") AS "time", namespace, pod_name, rule, priority, tags, summary
FROM runtime_alerts
WHERE kind = 'runtime_alert' AND pod_name IS NOT NULL
    AND "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until)
    AND ($cluster IS NULL OR cluster = $cluster)
    AND concat_ws('|', cluster, namespace, pod_name, coalesce(rule, '')) IN (SELECT unnest($keys::VARCHAR[]))
ORDER BY "time", id
