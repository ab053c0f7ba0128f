-- Connections opened by pods in a window (the opened_connections view, 0008), one row per
-- (cluster, pod, destination, port, protocol). $since/$until: ns; $cluster/$namespace: filters
-- or NULL.
SELECT cluster, namespace, pod_name, any_value(src_workload) AS workload, any_value(src_ip) AS src_ip,
    dst_ip, dst_port AS port, protocol,
    list_sort(list_distinct(list(verdict) FILTER (verdict IS NOT NULL))) AS verdicts,
    list_sort(list_distinct(flatten(list(dst_names) FILTER (dst_names IS NOT NULL)))) AS names,
    bool_or(coalesce(list_contains(dst_labels, 'reserved:kube-apiserver'), false)) AS apiserver,
    count(*) AS flows, epoch_ns(min("time")) AS first, epoch_ns(max("time")) AS last,
    list(id ORDER BY "time" DESC, id) AS ids
FROM opened_connections
WHERE "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until)
    AND ($cluster IS NULL OR cluster = $cluster) AND ($namespace IS NULL OR namespace = $namespace)
GROUP BY cluster, namespace, pod_name, dst_ip, dst_port, protocol
