-- The images the pods asked for ran, per container ({pods}: 'cluster|namespace|pod'), in
-- [{since}, {until}) ns: which versions of a workload reached a steady channel's destination
-- (correlate/steady.py). As DuckDB, from the hourly process rollup (process_hours, 0004) alone:
-- a row (cluster, pod, container, binary, hour) of an hour at the edge counts when one of its
-- events lies inside.
SELECT DISTINCT cluster, namespace, pod_name, container, _image AS image
FROM (
    SELECT cluster, namespace, pod_name, container, min(image) AS _image, min(first) AS _first, max(last) AS _last
    FROM process_hours
    WHERE hour >= toDateTime(intDiv({since:Int64}, 3600000000000) * 3600, 'UTC')
        AND hour < toDateTime(intDiv({until:Int64} + 999999999, 1000000000), 'UTC')
        AND concat(cluster, ifNull(concat('|', namespace), ''), '|', pod_name) IN {pods:Array(String)}
    GROUP BY cluster, namespace, pod_name, container, `binary`, hour
    HAVING _last >= fromUnixTimestamp64Nano({since:Int64}) AND _first < fromUnixTimestamp64Nano({until:Int64})
)
WHERE image IS NOT NULL AND container IS NOT NULL
ORDER BY cluster, namespace, pod_name, container, image
