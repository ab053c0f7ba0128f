-- kubectl exec / attach / port-forward sessions into one pod that may cover a time range, one
-- row per request (its stages merged): start = request received, end = the ResponseComplete
-- stage time when the log has it. The stages as DuckDB's exec_stages table (0004) holds them.
-- {cluster}, {namespace}, {pod}; {from}/{until}: ns.
SELECT _cluster AS cluster, _namespace AS namespace, _pod_name AS pod_name, _subresource AS subresource,
    any(_actor) AS actor, any(_impersonated_by) AS impersonated_by,
    any(_exec_command) AS command, any(_exec_container) AS container,
    toUnixTimestamp64Nano(min(_time)) AS start,
    toUnixTimestamp64Nano(maxIfOrNull(_end_time, _stage = 'ResponseComplete')) AS end,
    argMinIfOrNull(_id, _order, _stage_time IS NOT NULL) AS first_id,
    argMinIfOrNull(_summary, _order, _stage_time IS NOT NULL) AS summary, max(_code) AS code
FROM (
    SELECT cluster AS _cluster, namespace AS _namespace, pod_name AS _pod_name, subresource AS _subresource,
        actor AS _actor, impersonated_by AS _impersonated_by, exec_command AS _exec_command,
        exec_container AS _exec_container, audit_id AS _audit_id, id AS _id, time AS _time, end_time AS _end_time,
        stage AS _stage, stage_time AS _stage_time, summary AS _summary, code AS _code,
        -- the first stage; of stages at the same time, the first stored (DuckDB's arg_min takes the first it reads)
        (assumeNotNull(stage_time), coalesce(file_id, 0), coalesce(line, 0), id) AS _order
    FROM api_calls FINAL
    WHERE source = 'k8s_audit' AND resource = 'pods' AND subresource IN ('exec', 'attach', 'portforward')
        AND cluster = {cluster:Nullable(String)} AND namespace = {namespace:Nullable(String)} AND pod_name = {pod:Nullable(String)}
        AND time >= fromUnixTimestamp64Nano({from:Int64}) AND time < fromUnixTimestamp64Nano({until:Int64})
)
GROUP BY _cluster, _namespace, _pod_name, _subresource, coalesce(_audit_id, _id)
HAVING max(_code) < 400
ORDER BY start, first_id
