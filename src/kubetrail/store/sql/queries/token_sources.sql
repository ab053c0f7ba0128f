-- Where each pod's bound token was used from in a window: one row per (cluster, account, pod,
-- source IP) with the first call. $since/$until: ns; $cluster: filter or NULL.
SELECT cluster, service_account, token_pod_name, token_pod_uid, source_ips[1] AS source_ip, any_value(actor) AS actor,
    epoch_ns(min("time")) AS "time", arg_min(id, "time") AS id, arg_min(summary, "time") AS summary, count(*) AS calls
FROM events
WHERE source = 'k8s_audit' AND token_pod_name IS NOT NULL AND service_account IS NOT NULL AND source_ips[1] IS NOT NULL
    AND "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until)
    AND ($cluster IS NULL OR cluster = $cluster)
GROUP BY cluster, service_account, token_pod_name, token_pod_uid, source_ips[1]
ORDER BY "time"
