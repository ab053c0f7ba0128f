-- Processes started in containers in a window, one row per (cluster, pod, container, binary),
-- and the runtime alerts about processes (Falco) beside them. As DuckDB reads process_hours_in
-- (0010): the window's whole hours from the hourly rollup (process_hours, 0004), its partial
-- hours from the events. `ids`: the 20 most relevant of `events` (alerts first, then the
-- newest); `rules` NULL when none fired (a Variant: an Array cannot be NULL).
-- {since}/{until}: ns; {cluster}/{namespace}: filters or NULL.
WITH 3600000000000 AS _H,
    intDiv({since:Int64} + _H - 1, _H) < intDiv({until:Int64}, _H) AS _whole,
    if(_whole, intDiv({since:Int64} + _H - 1, _H) * _H, {until:Int64}) AS _lo,
    if(_whole, intDiv({until:Int64}, _H) * _H, {until:Int64}) AS _hi
SELECT _cluster AS cluster, _namespace AS namespace, _pod_name AS pod_name, min(_pod_uid) AS pod_uid,
    -- Falco's hostname is often its own pod's name: the process sensor's node is preferred
    coalesce(min(_exec_node), min(_node)) AS node,
    _container AS container, min(_image) AS image, min(_workload_name) AS workload_name,
    _binary AS binary, argMaxMerge(_args) AS args, uniqExactMerge(_execs) AS execs,
    if(empty(groupUniqArrayArray(_rules)), CAST(NULL AS Variant(Array(String))),
       CAST(arraySort(groupUniqArrayArray(_rules)) AS Variant(Array(String)))) AS rules,
    toUnixTimestamp64Nano(min(_first)) AS first, toUnixTimestamp64Nano(max(_last)) AS last, uniqExactMerge(_events) AS events,
    arrayMap(e -> e.3, arraySlice(arraySort(groupUniqArrayArray(_ev)), 1, 20)) AS ids,
    argMaxMerge(_latest_exec) AS latest_exec
FROM (
    SELECT cluster AS _cluster, namespace AS _namespace, pod_name AS _pod_name, container AS _container, `binary` AS _binary,
        min(pod_uid) AS _pod_uid, min(exec_node) AS _exec_node, min(node) AS _node, min(image) AS _image,
        min(workload_name) AS _workload_name, argMaxMergeState(args) AS _args, uniqExactMergeState(execs) AS _execs,
        groupUniqArrayArray(rules) AS _rules, min(first) AS _first, max(last) AS _last,
        uniqExactMergeState(events) AS _events, groupUniqArrayArray(ev) AS _ev, argMaxMergeState(latest_exec) AS _latest_exec
    FROM process_hours
    WHERE hour >= toDateTime(intDiv(_lo, 1000000000), 'UTC') AND hour < toDateTime(intDiv(_hi, 1000000000), 'UTC')
        AND ({cluster:Nullable(String)} IS NULL OR cluster = {cluster:Nullable(String)})
        AND ({namespace:Nullable(String)} IS NULL OR namespace = {namespace:Nullable(String)})
    GROUP BY cluster, namespace, pod_name, container, `binary`
    UNION ALL
    SELECT _c, _ns, _pod, _ctr, _bin, min(_pod_uid), min(if(_exec, _node, NULL)), min(_node), min(_image), min(_workload_name),
        argMaxState(_args, _time), uniqExactState(if(_exec, toNullable(_id), NULL)),
        groupUniqArrayIf(assumeNotNull(_rule_text), _rule_text IS NOT NULL), min(_time), max(_time), uniqExactState(_id),
        groupArraySorted(20)((CAST(_exec AS Bool), -toUnixTimestamp64Nano(_time), _id)),
        argMaxState(if(_exec, toNullable(_id), NULL), _time)
    FROM (
        SELECT id AS _id, true AS _exec, e.time AS _time, cluster AS _c, namespace AS _ns, assumeNotNull(pod_name) AS _pod,
            coalesce(container_name, container_id) AS _ctr, assumeNotNull(binary) AS _bin, pod_uid AS _pod_uid, node AS _node,
            image AS _image, workload_name AS _workload_name, args AS _args, CAST(NULL AS Nullable(String)) AS _rule_text
        FROM processes e FINAL
        WHERE kind = 'process_exec' AND binary IS NOT NULL AND pod_name IS NOT NULL
            AND ((e.time >= fromUnixTimestamp64Nano({since:Int64}) AND e.time < fromUnixTimestamp64Nano(_lo))
              OR (e.time >= fromUnixTimestamp64Nano(_hi) AND e.time < fromUnixTimestamp64Nano({until:Int64})))
            AND ({cluster:Nullable(String)} IS NULL OR cluster = {cluster:Nullable(String)})
            AND ({namespace:Nullable(String)} IS NULL OR namespace = {namespace:Nullable(String)})
        UNION ALL
        SELECT id, false, e.time, cluster, namespace, assumeNotNull(pod_name), coalesce(container_name, container_id),
            assumeNotNull(binary), pod_uid, node, image, workload_name, args,
            if(rule IS NULL, NULL, concat(rule, ' (', ifNull(priority, '?'), ')'))
        FROM runtime_alerts e FINAL
        WHERE kind = 'runtime_alert' AND binary IS NOT NULL AND pod_name IS NOT NULL
            AND ((e.time >= fromUnixTimestamp64Nano({since:Int64}) AND e.time < fromUnixTimestamp64Nano(_lo))
              OR (e.time >= fromUnixTimestamp64Nano(_hi) AND e.time < fromUnixTimestamp64Nano({until:Int64})))
            AND ({cluster:Nullable(String)} IS NULL OR cluster = {cluster:Nullable(String)})
            AND ({namespace:Nullable(String)} IS NULL OR namespace = {namespace:Nullable(String)})
    )
    GROUP BY _c, _ns, _pod, _ctr, _bin
)
GROUP BY _cluster, _namespace, _pod_name, _container, _binary
ORDER BY _cluster, _namespace, _pod_name, _container, _binary
