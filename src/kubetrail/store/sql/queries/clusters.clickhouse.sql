-- The clusters the store holds: per cluster and source, events, time span, nodes, and the names
-- the records themselves carried (sensor_cluster). `nodes`/`sensor_clusters`: sorted, NULL when
-- there are none (a Variant: an Array cannot be NULL).
SELECT e.cluster AS cluster, e.source AS source, count() AS events,
    toUnixTimestamp64Nano(min(e.time)) AS first, toUnixTimestamp64Nano(max(e.time)) AS last,
    if(empty(groupUniqArray(e.node)), CAST(NULL AS Variant(Array(String))),
       CAST(arraySort(groupUniqArray(CAST(e.node AS Nullable(String)))) AS Variant(Array(String)))) AS nodes,
    if(empty(groupUniqArray(e.sensor_cluster)), CAST(NULL AS Variant(Array(String))),
       CAST(arraySort(groupUniqArray(CAST(e.sensor_cluster AS Nullable(String)))) AS Variant(Array(String)))) AS sensor_clusters
FROM events AS e
GROUP BY e.cluster, e.source
ORDER BY cluster, source
