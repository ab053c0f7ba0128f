-- Connections opened by pods in a window (the opened_connections view, 0008), one row per
-- (cluster, pod, destination, port, protocol); read from the hourly rollup (0010). `ids`: the 20
-- newest of `flows`. $since/$until: ns; $cluster/$namespace: filters or NULL.
SELECT cluster, namespace, pod_name, any_value(workload) AS workload, any_value(src_ip) AS src_ip,
    dst_ip, port, protocol,
    list_sort(list_distinct(flatten(list(verdicts) FILTER (verdicts IS NOT NULL)))) AS verdicts,
    list_sort(list_distinct(flatten(list(names) FILTER (names IS NOT NULL)))) AS names,
    bool_or(apiserver) AS apiserver,
    sum(flows) AS flows, min(first) AS first, max(last) AS last,
    list_transform(list_sort(flatten(list(ev)))[1:20], lambda e: e.id) AS ids
FROM egress_hours_in($since, $until)
WHERE ($cluster IS NULL OR cluster = $cluster) AND ($namespace IS NULL OR namespace = $namespace)
GROUP BY cluster, namespace, pod_name, dst_ip, port, protocol
