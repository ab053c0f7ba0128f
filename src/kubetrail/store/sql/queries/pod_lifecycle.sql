-- Creations and deletions of the named pods seen by the API server (the pod_changes table, 0011):
-- (cluster, namespace, pod_name, verb, time). $names: list of 'namespace/name'.
SELECT cluster, namespace, pod_name, verb, epoch_ns("time") AS "at"
FROM pod_changes
WHERE namespace || '/' || pod_name IN (SELECT unnest($names::VARCHAR[]))
ORDER BY "at"
