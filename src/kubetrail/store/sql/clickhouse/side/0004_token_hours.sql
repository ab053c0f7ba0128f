-- The rows of token_hours (0004) of a batch's events: where each pod's bound token was used
-- from, per (cluster, account, pod, source IP, hour), with the first call, as DuckDB's
-- token_hours_of (0010); of calls at the same time, the first stored (DuckDB's arg_min takes the
-- first it reads).
INSERT INTO token_hours
SELECT assumeNotNull(cluster), assumeNotNull(service_account), assumeNotNull(token_pod_name), token_pod_uid,
    assumeNotNull(arrayElementOrNull(source_ips, 1)) AS _source_ip, toStartOfHour(assumeNotNull(time)) AS _hour,
    min(actor), min(assumeNotNull(time)),
    argMinState(assumeNotNull(id), (assumeNotNull(time), coalesce(file_id, 0), coalesce(line, 0), assumeNotNull(id))),
    argMinState(summary, (assumeNotNull(time), coalesce(file_id, 0), coalesce(line, 0), assumeNotNull(id))),
    uniqExactState(assumeNotNull(id))
FROM {batch}
WHERE source = 'k8s_audit' AND token_pod_name IS NOT NULL AND service_account IS NOT NULL
    AND arrayElementOrNull(source_ips, 1) IS NOT NULL
GROUP BY cluster, service_account, token_pod_name, token_pod_uid, _source_ip, _hour;
