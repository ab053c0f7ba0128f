-- Processes started in containers in a window, one row per (cluster, pod, container, binary),
-- and the runtime alerts about processes (Falco) beside them. DuckDB reads its hourly rollup
-- (0010); every column of it merges across hours as over the window's events at once, which is
-- what is aggregated here. `ids`: the 20 most relevant of `events` (alerts first, then the
-- newest); `rules` NULL when none fired (a Variant: an Array cannot be NULL).
-- {since}/{until}: ns; {cluster}/{namespace}: filters or NULL.
SELECT _cluster AS cluster, _namespace AS namespace, _pod_name AS pod_name, min(_pod_uid) AS pod_uid,
    -- Falco's hostname is often its own pod's name: the process sensor's node is preferred
    coalesce(minIf(_node, _kind = 'process_exec'), min(_node)) AS node,
    _container AS container, min(_image) AS image, min(_workload_name) AS workload_name,
    _binary AS binary, argMax(_args, _time) AS args, countIf(_kind = 'process_exec') AS execs,
    if(empty(groupUniqArrayIf(_rule_text, _rule_text IS NOT NULL)), CAST(NULL AS Variant(Array(String))),
       CAST(arraySort(groupUniqArrayIf(assumeNotNull(_rule_text), _rule_text IS NOT NULL)) AS Variant(Array(String)))) AS rules,
    toUnixTimestamp64Nano(min(_time)) AS first, toUnixTimestamp64Nano(max(_time)) AS last, count() AS events,
    arrayMap(e -> e.3, groupArraySorted(20)((_kind <> 'runtime_alert', -toUnixTimestamp64Nano(_time), _id))) AS ids,
    argMaxIf(toNullable(_id), _time, _kind = 'process_exec') AS latest_exec
FROM (
    SELECT id AS _id, kind AS _kind, time AS _time, cluster AS _cluster, namespace AS _namespace, pod_name AS _pod_name,
        coalesce(container_name, container_id) AS _container, binary AS _binary, pod_uid AS _pod_uid, node AS _node,
        image AS _image, workload_name AS _workload_name, args AS _args, CAST(NULL AS Nullable(String)) AS _rule_text
    FROM processes FINAL
    WHERE kind = 'process_exec' AND binary IS NOT NULL AND pod_name IS NOT NULL
        AND time >= fromUnixTimestamp64Nano({since:Int64}) AND time < fromUnixTimestamp64Nano({until:Int64})
        AND ({cluster:Nullable(String)} IS NULL OR cluster = {cluster:Nullable(String)})
        AND ({namespace:Nullable(String)} IS NULL OR namespace = {namespace:Nullable(String)})
    UNION ALL
    SELECT id, kind, time, cluster, namespace, pod_name, coalesce(container_name, container_id), binary, pod_uid, node,
        image, workload_name, args, if(rule IS NULL, NULL, concat(rule, ' (', ifNull(priority, '?'), ')'))
    FROM runtime_alerts FINAL
    WHERE kind = 'runtime_alert' AND binary IS NOT NULL AND pod_name IS NOT NULL
        AND time >= fromUnixTimestamp64Nano({since:Int64}) AND time < fromUnixTimestamp64Nano({until:Int64})
        AND ({cluster:Nullable(String)} IS NULL OR cluster = {cluster:Nullable(String)})
        AND ({namespace:Nullable(String)} IS NULL OR namespace = {namespace:Nullable(String)})
)
GROUP BY _cluster, _namespace, _pod_name, _container, _binary
ORDER BY _cluster, _namespace, _pod_name, _container, _binary
