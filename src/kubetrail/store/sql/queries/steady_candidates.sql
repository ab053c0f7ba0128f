-- What steady channels out are looked for in (answers/incidents.py): every pod's connections in
-- the window (`whole_pod`: to anything), and, of the pods that connected at least $min_connections
-- times over at least $min_span ns to addresses outside the private ranges, their connections per
-- (destination address, port), with the names the sensor gave them. A superset, read from the
-- hourly rollup table (0010) alone: the rows of the window's first and last hours may count
-- connections just outside it (a pod's first and last are clamped to the window), and rhythms are
-- judged per destination name, which may stand for several addresses (steady_egress.sql, exact).
-- Private ranges (RFC 1918, RFC 6598, IPv6 ULA: the defaults of identity/scope.DEFAULT_INTERNAL)
-- are never external, so they are left out here. $since/$until: ns; $cluster: filter or NULL.
WITH rows AS (
    SELECT cluster, namespace, pod_name, any_value(workload) AS workload, dst_ip, port,
        list_distinct(flatten(list(names) FILTER (names IS NOT NULL))) AS names,
        sum(flows) AS flows, greatest(min(first), $since) AS first, least(max(last), $until - 1) AS last,
        grouping(dst_ip) = 1 AS whole_pod
    FROM egress_hours
    WHERE hour >= $since // 3600000000000 * 3600000000000 AND hour < $until AND last >= $since AND first < $until
        AND ($cluster IS NULL OR cluster = $cluster)
    GROUP BY GROUPING SETS ((cluster, namespace, pod_name), (cluster, namespace, pod_name, dst_ip, port))
    HAVING grouping(dst_ip) = 1
        OR NOT regexp_matches(dst_ip, '^(10\.|192\.168\.|172\.(1[6-9]|2[0-9]|3[01])\.|100\.(6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])\.|f[cd])')
)
SELECT *
FROM rows
WINDOW pod AS (PARTITION BY cluster, namespace, pod_name, whole_pod)
QUALIFY whole_pod OR (sum(flows) OVER pod >= $min_connections AND max(last) OVER pod - min(first) OVER pod >= $min_span)
ORDER BY cluster, namespace, pod_name, whole_pod DESC, dst_ip, port
