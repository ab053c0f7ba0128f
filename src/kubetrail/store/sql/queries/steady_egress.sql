-- Pods' steady rhythms to destinations (a beacon, a scheduled transfer), judged per destination
-- name: $clusters/$ips/$destinations (lists of one length) say which destination each address
-- of a cluster stands for (an address answered for two names stands for both; one no name
-- stands for is its own). Per (cluster, pod, destination, port), the connections opened in the
-- window (the opened_connections view, 0008; both sensors), flows closer than $burst ns to the
-- previous one counted as the same connection (Hubble reports several flows per connection,
-- Tetragon the same one again), kept when there are at least $min_connections spread over at
-- least $min_span ns with gaps whose standard deviation is at most $max_cv times their mean.
-- $since/$until: ns; $cluster: filter or NULL.
WITH named AS (
    SELECT unnest($clusters::VARCHAR[]) AS cluster, unnest($ips::VARCHAR[]) AS dst_ip,
        unnest($destinations::VARCHAR[]) AS destination
), opened AS (
    SELECT o.id, o.cluster, o.source, o.kind, epoch_ns(o."time") AS t, o.dst_ip, o.dst_port, o.namespace, o.pod_name,
        n.destination
    FROM opened_connections o JOIN named n ON o.cluster = n.cluster AND o.dst_ip = n.dst_ip
    WHERE o.kind <> 'dns' AND o."time" >= make_timestamp_ns($since) AND o."time" < make_timestamp_ns($until)
        AND ($cluster IS NULL OR o.cluster = $cluster) AND o.dst_ip IN (SELECT unnest($ips::VARCHAR[]))
), stepped AS (
    SELECT *, t - lag(t) OVER (PARTITION BY cluster, namespace, pod_name, destination, dst_port ORDER BY t, id) AS gap
    FROM opened
), connections AS (
    SELECT *, t - lag(t) OVER (PARTITION BY cluster, namespace, pod_name, destination, dst_port ORDER BY t, id) AS every
    FROM stepped
    WHERE gap IS NULL OR gap >= $burst
)
SELECT cluster, namespace, pod_name, destination, dst_port AS port, count(*) AS connections, min(t) AS first, max(t) AS last,
    avg(every) AS mean_gap, list_sort(list_distinct(list(dst_ip))) AS ips,
    (list(id ORDER BY t, id))[1] AS first_id, (list(source ORDER BY t, id))[1] AS source,
    (list(kind ORDER BY t, id))[1] AS kind
FROM connections
GROUP BY cluster, namespace, pod_name, destination, dst_port
HAVING count(*) >= $min_connections AND max(t) - min(t) >= $min_span
    AND stddev_samp(every) <= $max_cv * avg(every)
ORDER BY first, cluster, namespace, pod_name, destination, port
