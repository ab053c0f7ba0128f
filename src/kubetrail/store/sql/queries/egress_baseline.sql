-- Where pods connected in a baseline period: per (cluster, pod, destination, port), how often
-- and when, and the names the sensor gave the destination (no evidence ids: a baseline is only
-- compared against). $since/$until: ns; $cluster/$namespace: filters or NULL.
SELECT cluster, namespace, pod_name, any_value(src_workload) AS workload, dst_ip, dst_port AS port,
    list_sort(list_distinct(flatten(list(dst_names) FILTER (dst_names IS NOT NULL)))) AS names,
    count(*) AS flows, epoch_ns(min("time")) AS first, epoch_ns(max("time")) AS last
FROM opened_connections
WHERE "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until)
    AND ($cluster IS NULL OR cluster = $cluster) AND ($namespace IS NULL OR namespace = $namespace)
GROUP BY cluster, namespace, pod_name, dst_ip, dst_port
