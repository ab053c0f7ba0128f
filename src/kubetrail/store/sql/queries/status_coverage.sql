-- What the store covers: per cluster, source and node, the time range and event count.
SELECT cluster, source, node, count(*) AS events, epoch_ns(min("time")) AS first, epoch_ns(max("time")) AS last
FROM events
WHERE $cluster IS NULL OR cluster = $cluster
GROUP BY ALL
ORDER BY cluster, source, node NULLS FIRST
