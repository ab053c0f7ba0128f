-- kubectl exec / attach / port-forward sessions into pods that may cover time ranges, for many
-- asks at once: ask i is the sessions into pod {namespaces}[i]/{pods}[i] of cluster {clusters}[i]
-- with a stage in [{froms}[i], {untils}[i]) ns, named {asks}[i] in the rows. One row per ask and
-- request (its stages merged): start = request received, end = the ResponseComplete stage time
-- when the log has it. Read from the stages ingest keeps (the exec_stages table, migration 0003,
-- as DuckDB's 0004; FINAL: a stage two racing writers both wrote is read once).
SELECT q.ask AS ask, s.cluster AS cluster, s.namespace AS namespace, s.pod_name AS pod_name, s.subresource AS subresource,
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
INNER JOIN (
    SELECT a.1 AS ask, a.2 AS cluster, a.3 AS namespace, a.4 AS pod_name, a.5 AS t0, a.6 AS t1
    FROM (SELECT arrayJoin(arrayZip({asks:Array(String)}, {clusters:Array(String)}, {namespaces:Array(String)},
                                    {pods:Array(String)}, {froms:Array(Int64)}, {untils:Array(Int64)})) AS a)
) AS q ON s.cluster = q.cluster AND s.namespace = q.namespace AND s.pod_name = q.pod_name
WHERE s.time >= fromUnixTimestamp64Nano(q.t0) AND s.time < fromUnixTimestamp64Nano(q.t1)
GROUP BY q.ask, s.cluster, s.namespace, s.pod_name, s.subresource, coalesce(s.audit_id, s.id)
HAVING max(s.code) < 400
ORDER BY ask, start, first_id
