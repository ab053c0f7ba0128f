-- Audit levels seen per cluster (a level without bodies hides request and response objects).
SELECT e.cluster AS cluster, coalesce(e.audit_level, 'unknown') AS level, count() AS events
FROM api_calls AS e FINAL
WHERE e.source = 'k8s_audit' AND ({cluster:Nullable(String)} IS NULL OR e.cluster = {cluster:Nullable(String)})
GROUP BY cluster, level
ORDER BY cluster, level
