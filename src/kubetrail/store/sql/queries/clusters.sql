-- The clusters the store holds: per cluster and source, events, time span, nodes, and the names
-- the records themselves carried (sensor_cluster).
SELECT cluster, source, count(*) AS events, epoch_ns(min("time")) AS first, epoch_ns(max("time")) AS last,
    list(DISTINCT node ORDER BY node) FILTER (node IS NOT NULL) AS nodes,
    list(DISTINCT sensor_cluster ORDER BY sensor_cluster) FILTER (sensor_cluster IS NOT NULL) AS sensor_clusters
FROM events
GROUP BY cluster, source
ORDER BY cluster, source
