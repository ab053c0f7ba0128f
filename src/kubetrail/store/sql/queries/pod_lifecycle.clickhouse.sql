-- Creations and deletions of the named pods seen by the API server (DuckDB's pod_changes table,
-- 0011, as its macro computes it): (cluster, namespace, pod_name, verb, time).
-- {names}: list of 'namespace/name'.
SELECT e.cluster AS cluster, e.namespace AS namespace, e.pod_name AS pod_name, e.verb AS verb,
    toUnixTimestamp64Nano(e.time) AS at
FROM api_calls AS e FINAL
WHERE e.source = 'k8s_audit' AND e.resource = 'pods' AND e.subresource IS NULL
    AND e.verb IN ('create', 'delete') AND e.code BETWEEN 200 AND 299 AND e.pod_name IS NOT NULL
    AND e.namespace || '/' || e.pod_name IN {names:Array(String)}
ORDER BY at, cluster, namespace, pod_name, verb
