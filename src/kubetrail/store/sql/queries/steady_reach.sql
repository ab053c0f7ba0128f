-- Who connected to steady channels' destinations in [$since, $until) ns ($since: the start of the
-- baseline period before the window; $until: the window's end): pods that connected to one of
-- $ips, or to an address the sensor named with one of $names, with their first connection then.
-- Whether a channel is its workload's design (correlate/steady.py) reads it. From the hourly
-- rollup table (0010) alone, and exact: a row of an hour at the edge counts when one of its
-- connections lies inside (its first before $until, its last from $since on). $cluster: filter or NULL.
SELECT cluster, namespace, pod_name, any_value(workload) AS workload, dst_ip,
    list_distinct(flatten(list(names) FILTER (names IS NOT NULL))) AS names, min(first) AS first
FROM egress_hours
WHERE hour >= $since // 3600000000000 * 3600000000000 AND hour < $until AND last >= $since AND first < $until
    AND ($cluster IS NULL OR cluster = $cluster)
    AND (dst_ip IN (SELECT unnest($ips::VARCHAR[])) OR list_has_any(coalesce(names, []), $names::VARCHAR[]))
GROUP BY cluster, namespace, pod_name, dst_ip
ORDER BY cluster, namespace, pod_name, dst_ip
