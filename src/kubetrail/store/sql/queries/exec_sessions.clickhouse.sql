-- kubectl exec / attach / port-forward sessions into one pod that may cover a time range, one
-- row per request (its stages merged): start = request received, end = the ResponseComplete
-- stage time when the log has it. Read from the stages ingest keeps (the exec_stages table,
-- migration 0003, as DuckDB's 0004; FINAL: a stage two racing writers both wrote is read once).
-- {cluster}, {namespace}, {pod}; {from}/{until}: ns.
SELECT s.cluster AS cluster, s.namespace AS namespace, s.pod_name AS pod_name, s.subresource AS subresource,
    any(s.actor) AS actor, any(s.impersonated_by) AS impersonated_by,
    any(s.exec_command) AS command, any(s.exec_container) AS container,
    toUnixTimestamp64Nano(min(s.time)) AS start,
    toUnixTimestamp64Nano(maxIfOrNull(s.end_time, s.stage = 'ResponseComplete')) AS end,
    -- the first stage; of stages at the same time, the first stored (DuckDB's arg_min takes the first it reads)
    argMinIfOrNull(s.id, (assumeNotNull(s.stage_time), coalesce(s.file_id, 0), coalesce(s.line, 0), s.id),
                   s.stage_time IS NOT NULL) AS first_id,
    argMinIfOrNull(s.summary, (assumeNotNull(s.stage_time), coalesce(s.file_id, 0), coalesce(s.line, 0), s.id),
                   s.stage_time IS NOT NULL) AS summary,
    max(s.code) AS code
FROM exec_stages AS s FINAL
WHERE s.cluster = {cluster:Nullable(String)} AND s.namespace = {namespace:Nullable(String)}
    AND s.pod_name = {pod:Nullable(String)}
    AND s.time >= fromUnixTimestamp64Nano({from:Int64}) AND s.time < fromUnixTimestamp64Nano({until:Int64})
GROUP BY s.cluster, s.namespace, s.pod_name, s.subresource, coalesce(s.audit_id, s.id)
HAVING max(s.code) < 400
ORDER BY start, first_id
