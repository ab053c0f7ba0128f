-- Where each pod's bound token was used from in a window: one row per (cluster, account, pod,
-- source IP) with the first call. DuckDB reads its hourly rollup (token_hours, 0010), whose rows
-- merge across hours as over the window's calls at once: those are aggregated here.
-- {since}/{until}: ns; {cluster}: filter or NULL.
SELECT _cluster AS cluster, _service_account AS service_account, _token_pod_name AS token_pod_name,
    _token_pod_uid AS token_pod_uid, _source_ip AS source_ip, any(_actor) AS actor,
    toUnixTimestamp64Nano(min(_time)) AS time, argMin(_id, _order) AS id, argMin(_summary, _order) AS summary,
    count() AS calls
FROM (
    SELECT cluster AS _cluster, service_account AS _service_account, token_pod_name AS _token_pod_name,
        token_pod_uid AS _token_pod_uid, arrayElementOrNull(source_ips, 1) AS _source_ip, actor AS _actor,
        time AS _time, id AS _id, summary AS _summary,
        -- the first call; of calls at the same time, the first stored (DuckDB's arg_min takes the first it reads)
        (time, coalesce(file_id, 0), coalesce(line, 0), id) AS _order
    FROM api_calls FINAL
    WHERE source = 'k8s_audit' AND token_pod_name IS NOT NULL AND service_account IS NOT NULL
        AND arrayElementOrNull(source_ips, 1) IS NOT NULL
        AND time >= fromUnixTimestamp64Nano({since:Int64}) AND time < fromUnixTimestamp64Nano({until:Int64})
        AND ({cluster:Nullable(String)} IS NULL OR cluster = {cluster:Nullable(String)})
)
GROUP BY _cluster, _service_account, _token_pod_name, _token_pod_uid, _source_ip
ORDER BY time, cluster, service_account, token_pod_name, source_ip
