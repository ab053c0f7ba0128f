-- Audit levels seen per cluster (a level without bodies hides request and response objects).
SELECT cluster, coalesce(audit_level, 'unknown') AS level, count(*) AS events
FROM api_calls
WHERE source = 'k8s_audit' AND ($cluster IS NULL OR cluster = $cluster)
GROUP BY ALL
ORDER BY cluster, level
