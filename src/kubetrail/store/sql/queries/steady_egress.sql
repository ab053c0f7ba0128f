-- Destinations a pod connected to again and again at a steady rhythm (a beacon, a scheduled
-- transfer): per (cluster, source, pod, destination, port), the connections it opened in the
-- window, flows closer than $burst ns to the previous one counted as the same connection (Hubble
-- reports several flows per connection), kept when there are at least $min_connections spread
-- over at least $min_span ns with gaps whose standard deviation is at most $max_cv times their
-- mean. Connections as every egress question counts them (the opened_connections view, 0008).
-- $since/$until: ns; $cluster: filter or NULL; $ips: the destinations to look at.
WITH opened AS (
    SELECT id, cluster, source, kind, epoch_ns("time") AS t, dst_ip, dst_port, dst_names, namespace, pod_name
    FROM opened_connections
    WHERE kind <> 'dns' AND "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until)
        AND ($cluster IS NULL OR cluster = $cluster) AND dst_ip IN (SELECT unnest($ips::VARCHAR[]))
), stepped AS (
    SELECT *, t - lag(t) OVER (PARTITION BY cluster, source, namespace, pod_name, dst_ip, dst_port ORDER BY t, id) AS gap
    FROM opened
), connections AS (
    SELECT *, t - lag(t) OVER (PARTITION BY cluster, source, namespace, pod_name, dst_ip, dst_port ORDER BY t, id) AS every
    FROM stepped
    WHERE gap IS NULL OR gap >= $burst
)
SELECT cluster, source, any_value(kind) AS kind, namespace, pod_name, dst_ip, dst_port AS port, count(*) AS connections,
    min(t) AS first, max(t) AS last, avg(every) AS mean_gap,
    list_sort(list_distinct(flatten(list(dst_names) FILTER (dst_names IS NOT NULL)))) AS names,
    list(id ORDER BY t, id) AS ids
FROM connections
GROUP BY cluster, source, namespace, pod_name, dst_ip, dst_port
HAVING count(*) >= $min_connections AND max(t) - min(t) >= $min_span
    AND stddev_samp(every) <= $max_cv * avg(every)
ORDER BY first, cluster, namespace, pod_name, dst_ip, port
