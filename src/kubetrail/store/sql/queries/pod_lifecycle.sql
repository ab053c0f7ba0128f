-- Creations and deletions of the named pods seen by the API server: (cluster, namespace,
-- pod_name, verb, time). $names: list of 'namespace/name'.
SELECT cluster, namespace, pod_name, verb, epoch_ns("time") AS "at"
FROM events
WHERE source = 'k8s_audit' AND resource = 'pods' AND subresource IS NULL
    AND verb IN ('create', 'delete') AND code BETWEEN 200 AND 299
    AND list_contains($names, namespace || '/' || pod_name)
ORDER BY "at"
