-- API calls on Secrets in a window, one row per call (the stages of one request are one call:
-- the last stage stands for it). {since}/{until}: ns; {cluster}, {namespace}: filters or NULL.
SELECT e.id AS id, e.cluster AS cluster, toUnixTimestamp64Nano(e.time) AS time, e.actor AS actor,
    e.service_account AS service_account, e.token_pod_name AS token_pod_name, e.token_pod_uid AS token_pod_uid,
    arrayElementOrNull(e.source_ips, 1) AS source_ip, e.verb AS verb, e.namespace AS namespace,
    e.object_name AS object_name, e.code AS code
FROM api_calls AS e FINAL
WHERE e.source = 'k8s_audit' AND e.resource = 'secrets'
    AND e.time >= fromUnixTimestamp64Nano({since:Int64}) AND e.time < fromUnixTimestamp64Nano({until:Int64})
    AND ({cluster:Nullable(String)} IS NULL OR e.cluster = {cluster:Nullable(String)})
    AND ({namespace:Nullable(String)} IS NULL OR e.namespace = {namespace:Nullable(String)})
QUALIFY row_number() OVER (PARTITION BY e.cluster, coalesce(e.audit_id, e.id) ORDER BY e.stage_time DESC NULLS LAST, e.id) = 1
ORDER BY time, id
