-- The images the pods asked for ran, per container ({pods}: 'cluster|namespace|pod'), in
-- [{since}, {until}) ns: which versions of a workload reached a steady channel's destination
-- (correlate/steady.py). As DuckDB reads its hourly process rollup (0010): the rows per (cluster,
-- pod, container, binary, hour) of process starts and runtime alerts, made here from the events
-- of the hours the window touches; a row of an hour at the edge counts when one of its events
-- lies inside.
WITH hours AS (
    SELECT _cluster, _namespace, _pod_name, _container, min(_image) AS _image,
        min(_time) AS _first, max(_time) AS _last
    FROM (
        SELECT time AS _time, cluster AS _cluster, namespace AS _namespace, pod_name AS _pod_name,
            coalesce(container_name, container_id) AS _container, binary AS _binary, image AS _image
        FROM processes FINAL
        WHERE kind = 'process_exec' AND binary IS NOT NULL AND pod_name IS NOT NULL
            AND time >= fromUnixTimestamp64Nano(intDiv({since:Int64}, 3600000000000) * 3600000000000)
            AND time < fromUnixTimestamp64Nano((intDiv({until:Int64} - 1, 3600000000000) + 1) * 3600000000000)
        UNION ALL
        SELECT time, cluster, namespace, pod_name, coalesce(container_name, container_id), binary, image
        FROM runtime_alerts FINAL
        WHERE kind = 'runtime_alert' AND binary IS NOT NULL AND pod_name IS NOT NULL
            AND time >= fromUnixTimestamp64Nano(intDiv({since:Int64}, 3600000000000) * 3600000000000)
            AND time < fromUnixTimestamp64Nano((intDiv({until:Int64} - 1, 3600000000000) + 1) * 3600000000000)
    )
    WHERE concat(_cluster, ifNull(concat('|', _namespace), ''), '|', _pod_name) IN {pods:Array(String)}
    GROUP BY _cluster, _namespace, _pod_name, _container, _binary, intDiv(toUnixTimestamp64Nano(_time), 3600000000000)
)
SELECT DISTINCT _cluster AS cluster, _namespace AS namespace, _pod_name AS pod_name, _container AS container, _image AS image
FROM hours
WHERE _last >= fromUnixTimestamp64Nano({since:Int64}) AND _first < fromUnixTimestamp64Nano({until:Int64})
    AND _image IS NOT NULL AND _container IS NOT NULL
ORDER BY _cluster, _namespace, _pod_name, _container, _image
