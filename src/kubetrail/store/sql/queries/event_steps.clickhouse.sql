-- Events by id, with what a step of a story shows of each. {ids}: the event ids.
-- Each class table read on its own (the `events` view costs more to plan than to read), and only
-- at the times event_keys (0007, ordered by the ids' hashes) holds for them: FINAL then merges the few
-- granules of those times, not the whole table.
WITH (SELECT groupArray((`table`, time)) FROM event_keys
    WHERE has(arrayMap(i -> cityHash64(i), {ids:Array(String)}), id_hash) AND id IN {ids:Array(String)}) AS _keys
SELECT e.id AS id, e.source AS source, e.kind AS kind, toUnixTimestamp64Nano(e.time) AS time, e.summary AS summary
FROM api_calls AS e FINAL
WHERE has(arrayMap(k -> k.2, arrayFilter(k -> k.1 = 'api_calls', _keys)), e.time)
    AND e.id IN {ids:Array(String)}
UNION ALL
SELECT e.id AS id, e.source AS source, e.kind AS kind, toUnixTimestamp64Nano(e.time) AS time, e.summary AS summary
FROM processes AS e FINAL
WHERE has(arrayMap(k -> k.2, arrayFilter(k -> k.1 = 'processes', _keys)), e.time)
    AND e.id IN {ids:Array(String)}
UNION ALL
SELECT e.id AS id, e.source AS source, e.kind AS kind, toUnixTimestamp64Nano(e.time) AS time, e.summary AS summary
FROM flows AS e FINAL
WHERE has(arrayMap(k -> k.2, arrayFilter(k -> k.1 = 'flows', _keys)), e.time)
    AND e.id IN {ids:Array(String)}
UNION ALL
SELECT e.id AS id, e.source AS source, e.kind AS kind, toUnixTimestamp64Nano(e.time) AS time, e.summary AS summary
FROM runtime_alerts AS e FINAL
WHERE has(arrayMap(k -> k.2, arrayFilter(k -> k.1 = 'runtime_alerts', _keys)), e.time)
    AND e.id IN {ids:Array(String)}
UNION ALL
SELECT e.id AS id, e.source AS source, e.kind AS kind, toUnixTimestamp64Nano(e.time) AS time, e.summary AS summary
FROM spans AS e FINAL
WHERE has(arrayMap(k -> k.2, arrayFilter(k -> k.1 = 'spans', _keys)), e.time)
    AND e.id IN {ids:Array(String)}
UNION ALL
SELECT e.id AS id, e.source AS source, e.kind AS kind, toUnixTimestamp64Nano(e.time) AS time, e.summary AS summary
FROM objects AS e FINAL
WHERE has(arrayMap(k -> k.2, arrayFilter(k -> k.1 = 'objects', _keys)), e.time)
    AND e.id IN {ids:Array(String)}
