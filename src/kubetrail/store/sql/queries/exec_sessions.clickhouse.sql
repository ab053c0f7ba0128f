-- kubectl exec / attach / port-forward sessions into one pod that may cover a time range, one
-- row per request (its stages merged): start = request received, end = the ResponseComplete
-- stage time when the log has it. Read from the stages ingest keeps (the exec_stages table,
-- migration 0003, as DuckDB's 0004; FINAL: a stage two racing writers both wrote is read once).
-- {cluster}, {namespace}, {pod}; {from}/{until}: ns.
SELECT _cluster AS cluster, _namespace AS namespace, _pod_name AS pod_name, _subresource AS subresource,
    any(_actor) AS actor, any(_impersonated_by) AS impersonated_by,
    any(_exec_command) AS command, any(_exec_container) AS container,
    toUnixTimestamp64Nano(min(_time)) AS start,
    toUnixTimestamp64Nano(maxIfOrNull(_end_time, _stage = 'ResponseComplete')) AS end,
    argMinIfOrNull(_id, _order, _stage_time IS NOT NULL) AS first_id,
    argMinIfOrNull(_summary, _order, _stage_time IS NOT NULL) AS summary, max(_code) AS code
FROM (
    SELECT s.cluster AS _cluster, s.namespace AS _namespace, s.pod_name AS _pod_name, s.subresource AS _subresource,
        s.actor AS _actor, s.impersonated_by AS _impersonated_by, s.exec_command AS _exec_command,
        s.exec_container AS _exec_container, s.audit_id AS _audit_id, s.id AS _id, s.time AS _time, s.end_time AS _end_time,
        s.stage AS _stage, s.stage_time AS _stage_time, s.summary AS _summary, s.code AS _code,
        -- the first stage; of stages at the same time, the first stored (DuckDB's arg_min takes the first it reads)
        (assumeNotNull(s.stage_time), coalesce(s.file_id, 0), coalesce(s.line, 0), s.id) AS _order
    FROM exec_stages AS s FINAL
    WHERE s.cluster = {cluster:Nullable(String)} AND s.namespace = {namespace:Nullable(String)}
        AND s.pod_name = {pod:Nullable(String)}
        AND s.time >= fromUnixTimestamp64Nano({from:Int64}) AND s.time < fromUnixTimestamp64Nano({until:Int64})
)
GROUP BY _cluster, _namespace, _pod_name, _subresource, coalesce(_audit_id, _id)
HAVING max(_code) < 400
ORDER BY start, first_id
