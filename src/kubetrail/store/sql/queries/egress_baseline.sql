-- Where pods connected in a baseline period: per (cluster, pod, destination, port), how often
-- and when, and the names the sensor gave the destination (no evidence: a baseline is only
-- compared against); read from the hourly rollup (0010). $since/$until: ns; $cluster/$namespace:
-- filters or NULL.
SELECT cluster, namespace, pod_name, any_value(workload) AS workload, dst_ip, port,
    list_sort(list_distinct(flatten(list(names) FILTER (names IS NOT NULL)))) AS names,
    sum(flows) AS flows, min(first) AS first, max(last) AS last
FROM egress_hours_in($since, $until)
WHERE ($cluster IS NULL OR cluster = $cluster) AND ($namespace IS NULL OR namespace = $namespace)
GROUP BY cluster, namespace, pod_name, dst_ip, port
