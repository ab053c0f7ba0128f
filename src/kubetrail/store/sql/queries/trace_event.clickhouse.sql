-- The events traces start from, with the columns a trace reads. {ids}: the event ids.
-- Each class table read on its own (the `events` view costs more to plan than to read), and only
-- at the times event_keys (0007, ordered by the ids' hashes) holds for them: FINAL then merges the few
-- granules of those times, not the whole table.
WITH (SELECT groupArray((`table`, time)) FROM event_keys
    WHERE has(arrayMap(i -> cityHash64(i), {ids:Array(String)}), id_hash) AND id IN {ids:Array(String)}) AS _keys
SELECT e.id AS id, e.cluster AS cluster, e.source AS source, e.kind AS kind, toUnixTimestamp64Nano(e.time) AS time, e.summary AS summary, e.actor AS actor, e.impersonated_by AS impersonated_by, e.namespace AS namespace, e.pod_name AS pod_name, e.container_name AS container_name, CAST(NULL AS LowCardinality(Nullable(String))) AS `binary`, CAST(NULL AS Nullable(String)) AS exec_id, CAST(NULL AS Nullable(String)) AS parent_exec_id, CAST(NULL AS Nullable(String)) AS trace_id, CAST(NULL AS Nullable(String)) AS span_id
FROM api_calls AS e FINAL
WHERE has(arrayMap(k -> k.2, arrayFilter(k -> k.1 = 'api_calls', _keys)), e.time)
    AND e.id IN {ids:Array(String)}
UNION ALL
SELECT e.id AS id, e.cluster AS cluster, e.source AS source, e.kind AS kind, toUnixTimestamp64Nano(e.time) AS time, e.summary AS summary, e.actor AS actor, CAST(NULL AS LowCardinality(Nullable(String))) AS impersonated_by, e.namespace AS namespace, e.pod_name AS pod_name, e.container_name AS container_name, e.`binary` AS `binary`, e.exec_id AS exec_id, e.parent_exec_id AS parent_exec_id, CAST(NULL AS Nullable(String)) AS trace_id, CAST(NULL AS Nullable(String)) AS span_id
FROM processes AS e FINAL
WHERE has(arrayMap(k -> k.2, arrayFilter(k -> k.1 = 'processes', _keys)), e.time)
    AND e.id IN {ids:Array(String)}
UNION ALL
SELECT e.id AS id, e.cluster AS cluster, e.source AS source, e.kind AS kind, toUnixTimestamp64Nano(e.time) AS time, e.summary AS summary, e.actor AS actor, CAST(NULL AS LowCardinality(Nullable(String))) AS impersonated_by, e.namespace AS namespace, e.pod_name AS pod_name, e.container_name AS container_name, e.`binary` AS `binary`, e.exec_id AS exec_id, e.parent_exec_id AS parent_exec_id, e.trace_id AS trace_id, e.span_id AS span_id
FROM flows AS e FINAL
WHERE has(arrayMap(k -> k.2, arrayFilter(k -> k.1 = 'flows', _keys)), e.time)
    AND e.id IN {ids:Array(String)}
UNION ALL
SELECT e.id AS id, e.cluster AS cluster, e.source AS source, e.kind AS kind, toUnixTimestamp64Nano(e.time) AS time, e.summary AS summary, e.actor AS actor, e.impersonated_by AS impersonated_by, e.namespace AS namespace, e.pod_name AS pod_name, e.container_name AS container_name, e.`binary` AS `binary`, e.exec_id AS exec_id, e.parent_exec_id AS parent_exec_id, CAST(NULL AS Nullable(String)) AS trace_id, CAST(NULL AS Nullable(String)) AS span_id
FROM runtime_alerts AS e FINAL
WHERE has(arrayMap(k -> k.2, arrayFilter(k -> k.1 = 'runtime_alerts', _keys)), e.time)
    AND e.id IN {ids:Array(String)}
UNION ALL
SELECT e.id AS id, e.cluster AS cluster, e.source AS source, e.kind AS kind, toUnixTimestamp64Nano(e.time) AS time, e.summary AS summary, e.actor AS actor, CAST(NULL AS LowCardinality(Nullable(String))) AS impersonated_by, e.namespace AS namespace, e.pod_name AS pod_name, e.container_name AS container_name, CAST(NULL AS LowCardinality(Nullable(String))) AS `binary`, CAST(NULL AS Nullable(String)) AS exec_id, CAST(NULL AS Nullable(String)) AS parent_exec_id, e.trace_id AS trace_id, e.span_id AS span_id
FROM spans AS e FINAL
WHERE has(arrayMap(k -> k.2, arrayFilter(k -> k.1 = 'spans', _keys)), e.time)
    AND e.id IN {ids:Array(String)}
UNION ALL
SELECT e.id AS id, e.cluster AS cluster, e.source AS source, e.kind AS kind, toUnixTimestamp64Nano(e.time) AS time, e.summary AS summary, e.actor AS actor, CAST(NULL AS LowCardinality(Nullable(String))) AS impersonated_by, e.namespace AS namespace, e.pod_name AS pod_name, e.container_name AS container_name, CAST(NULL AS LowCardinality(Nullable(String))) AS `binary`, CAST(NULL AS Nullable(String)) AS exec_id, CAST(NULL AS Nullable(String)) AS parent_exec_id, CAST(NULL AS Nullable(String)) AS trace_id, CAST(NULL AS Nullable(String)) AS span_id
FROM objects AS e FINAL
WHERE has(arrayMap(k -> k.2, arrayFilter(k -> k.1 = 'objects', _keys)), e.time)
    AND e.id IN {ids:Array(String)}
