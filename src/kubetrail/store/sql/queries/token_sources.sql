-- Where each pod's bound token was used from in a window: one row per (cluster, account, pod,
-- source IP) with the first call; read from the hourly rollup (0010). $since/$until: ns;
-- $cluster: filter or NULL.
SELECT cluster, service_account, token_pod_name, token_pod_uid, source_ip, any_value(actor) AS actor,
    min(first) AS "time", arg_min(id, first) AS id, arg_min(summary, first) AS summary, sum(calls) AS calls
FROM token_hours_in($since, $until)
WHERE $cluster IS NULL OR cluster = $cluster
GROUP BY cluster, service_account, token_pod_name, token_pod_uid, source_ip
ORDER BY "time"
