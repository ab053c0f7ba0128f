-- Creations and deletions of the named pods seen by the API server (the pod_changes table,
-- migration 0003, as DuckDB's 0011; FINAL: a change two racing writers both wrote is read once):
-- (cluster, namespace, pod_name, verb, time). {names}: list of 'namespace/name'.
SELECT p.cluster AS cluster, p.namespace AS namespace, p.pod_name AS pod_name, p.verb AS verb,
    toUnixTimestamp64Nano(p.time) AS at
FROM pod_changes AS p FINAL
WHERE p.namespace IN arrayMap(n -> splitByChar('/', n)[1], {names:Array(String)})
    AND p.namespace || '/' || p.pod_name IN {names:Array(String)}
ORDER BY at, cluster, namespace, pod_name, verb
