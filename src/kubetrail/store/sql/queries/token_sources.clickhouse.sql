-- Where each pod's bound token was used from in a window: one row per (cluster, account, pod,
-- source IP) with the first call. As DuckDB reads token_hours_in (0010): the window's whole
-- hours from the hourly rollup (token_hours, 0004), its partial hours from the calls.
-- {since}/{until}: ns; {cluster}: filter or NULL.
WITH 3600000000000 AS _H,
    intDiv({since:Int64} + _H - 1, _H) < intDiv({until:Int64}, _H) AS _whole,
    if(_whole, intDiv({since:Int64} + _H - 1, _H) * _H, {until:Int64}) AS _lo,
    if(_whole, intDiv({until:Int64}, _H) * _H, {until:Int64}) AS _hi
SELECT _cluster AS cluster, _service_account AS service_account, _token_pod_name AS token_pod_name,
    _token_pod_uid AS token_pod_uid, _source_ip AS source_ip, min(_actor) AS actor,
    toUnixTimestamp64Nano(min(_first)) AS time, argMinMerge(_id) AS id, argMinMerge(_summary) AS summary,
    sum(_calls) AS calls
FROM (
    SELECT cluster AS _cluster, service_account AS _service_account, token_pod_name AS _token_pod_name,
        token_pod_uid AS _token_pod_uid, source_ip AS _source_ip, min(actor) AS _actor, min(first) AS _first,
        argMinMergeState(id) AS _id, argMinMergeState(summary) AS _summary, uniqExactMerge(calls) AS _calls
    FROM token_hours
    WHERE hour >= toDateTime(intDiv(_lo, 1000000000), 'UTC') AND hour < toDateTime(intDiv(_hi, 1000000000), 'UTC')
        AND ({cluster:Nullable(String)} IS NULL OR cluster = {cluster:Nullable(String)})
    GROUP BY cluster, service_account, token_pod_name, token_pod_uid, source_ip
    UNION ALL
    SELECT cluster, assumeNotNull(service_account), assumeNotNull(token_pod_name), token_pod_uid,
        assumeNotNull(arrayElementOrNull(source_ips, 1)) AS _ip, min(actor), min(e.time),
        -- the first call; of calls at the same time, the first stored (DuckDB's arg_min takes the first it reads)
        argMinState(id, CAST((e.time, coalesce(file_id, 0), coalesce(line, 0), id) AS Tuple(DateTime64(9, 'UTC'), Int64, Int64, String))),
        argMinState(summary, CAST((e.time, coalesce(file_id, 0), coalesce(line, 0), id) AS Tuple(DateTime64(9, 'UTC'), Int64, Int64, String))),
        count()
    FROM api_calls e FINAL
    WHERE source = 'k8s_audit' AND token_pod_name IS NOT NULL AND service_account IS NOT NULL
        AND arrayElementOrNull(source_ips, 1) IS NOT NULL
        AND ((e.time >= fromUnixTimestamp64Nano({since:Int64}) AND e.time < fromUnixTimestamp64Nano(_lo))
          OR (e.time >= fromUnixTimestamp64Nano(_hi) AND e.time < fromUnixTimestamp64Nano({until:Int64})))
        AND ({cluster:Nullable(String)} IS NULL OR cluster = {cluster:Nullable(String)})
    GROUP BY cluster, service_account, token_pod_name, token_pod_uid, _ip
)
GROUP BY _cluster, _service_account, _token_pod_name, _token_pod_uid, _source_ip
ORDER BY time, cluster, service_account, token_pod_name, source_ip
