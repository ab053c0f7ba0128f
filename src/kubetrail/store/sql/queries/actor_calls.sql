-- Every API call of one user or service account in a window (the stages of one request are one
-- call; its ids are listed), impersonated calls included: made as $actor, or by $actor as someone.
-- $max_rows: the first rows in time order that a page needs.
SELECT cluster, coalesce(audit_id, any_value(id)) AS call,
    epoch_ns(min("time")) AS "time",
    arg_max(actor, stage_time) AS actor, arg_max(impersonated_by, stage_time) AS impersonated_by,
    arg_max(service_account, stage_time) AS service_account,
    arg_max(verb, stage_time) AS verb, arg_max(resource, stage_time) AS resource,
    arg_max(subresource, stage_time) AS subresource, arg_max(namespace, stage_time) AS namespace,
    arg_max(object_name, stage_time) AS name, max(code) AS code,
    arg_max(source_ips, stage_time) AS source_ips, arg_max(user_agent, stage_time) AS user_agent,
    arg_max(token_pod_name, stage_time) AS token_pod_name, arg_max(token_pod_uid, stage_time) AS token_pod_uid,
    arg_max(extra, stage_time) AS extra,
    list(id ORDER BY stage_time DESC NULLS LAST, id) AS ids
FROM events
WHERE source = 'k8s_audit' AND (actor = $actor OR impersonated_by = $actor)
    AND "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until)
    AND ($cluster IS NULL OR cluster = $cluster)
    AND ($namespace IS NULL OR namespace = $namespace)
GROUP BY cluster, audit_id, CASE WHEN audit_id IS NULL THEN id END
ORDER BY "time", call
LIMIT $max_rows
