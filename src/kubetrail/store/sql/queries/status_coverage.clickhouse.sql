-- What the store covers: per cluster, source and node, the time range and event count.
SELECT e.cluster AS cluster, e.source AS source, e.node AS node, count() AS events,
    toUnixTimestamp64Nano(min(e.time)) AS first, toUnixTimestamp64Nano(max(e.time)) AS last
FROM events AS e
WHERE {cluster:Nullable(String)} IS NULL OR e.cluster = {cluster:Nullable(String)}
GROUP BY e.cluster, e.source, e.node
ORDER BY cluster, source, node NULLS FIRST
