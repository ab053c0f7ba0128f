-- API calls on Secrets in a window, one row per call (the stages of one request are one call:
-- the last stage stands for it). $since/$until: ns; $cluster, $namespace: filters or NULL.
SELECT id, cluster, epoch_ns("time") AS "time", actor, service_account, token_pod_name, token_pod_uid,
    source_ips[1] AS source_ip, verb, namespace, object_name, code
FROM api_calls
WHERE source = 'k8s_audit' AND resource = 'secrets'
    AND "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until)
    AND ($cluster IS NULL OR cluster = $cluster)
    AND ($namespace IS NULL OR namespace = $namespace)
QUALIFY row_number() OVER (PARTITION BY cluster, coalesce(audit_id, id) ORDER BY stage_time DESC NULLS LAST, id) = 1
ORDER BY "time", id
