-- Destinations some pod connected to often enough and over long enough in a window to be a
-- steady channel (a superset: flows are not yet merged into connections); read from the hourly
-- rollup (0010). $since/$until: ns; $cluster: filter or NULL.
SELECT DISTINCT dst_ip
FROM (
    SELECT dst_ip
    FROM egress_hours_in($since, $until)
    WHERE $cluster IS NULL OR cluster = $cluster
    GROUP BY cluster, namespace, pod_name, dst_ip, port
    HAVING sum(flows) >= $min_connections AND max(last) - min(first) >= $min_span
)
ORDER BY dst_ip
