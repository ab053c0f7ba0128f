-- kubectl exec / attach / port-forward sessions into one pod that may cover a time range, one
-- row per request (its stages merged): start = request received, end = the ResponseComplete
-- stage time when the log has it. Read from the stages ingest keeps (migration 0004).
-- $cluster, $namespace, $pod; $from/$until: ns.
SELECT cluster, namespace, pod_name, subresource,
    any_value(actor) AS actor, any_value(impersonated_by) AS impersonated_by,
    any_value(exec_command) AS command, any_value(exec_container) AS container,
    epoch_ns(min("time")) AS "start",
    epoch_ns(max(end_time) FILTER (stage = 'ResponseComplete')) AS "end",
    arg_min(id, stage_time) AS first_id, arg_min(summary, stage_time) AS summary, max(code) AS code
FROM exec_stages
WHERE cluster = $cluster AND namespace = $namespace AND pod_name = $pod
    AND "time" >= make_timestamp_ns($from) AND "time" < make_timestamp_ns($until)
GROUP BY cluster, namespace, pod_name, subresource, coalesce(audit_id, id)
HAVING max(code) < 400
ORDER BY "start"
