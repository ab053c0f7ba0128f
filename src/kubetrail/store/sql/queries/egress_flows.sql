-- Connections opened by pods in a window, one row per (cluster, pod, destination, port,
-- protocol). Replies are not connections; a flow Hubble saw at the destination (INGRESS) is the
-- same connection as at the source, so only the source's view counts. Tetragon connect events
-- count as the process's own connection. $since/$until: ns; $cluster/$namespace: filters or NULL.
WITH opened AS (
    SELECT id, cluster, "time", dst_ip, dst_port, coalesce(protocol, 'unknown') AS protocol, verdict,
        dst_names, dst_labels, src_ip, src_workload,
        coalesce(src_namespace, namespace) AS namespace, coalesce(src_pod_name, pod_name) AS pod_name
    FROM events
    WHERE kind IN ('network_flow', 'http', 'dns') AND dst_ip IS NOT NULL
        AND "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until)
        AND ($cluster IS NULL OR cluster = $cluster)
        AND ((source = 'hubble' AND src_pod_name IS NOT NULL AND NOT coalesce(is_reply, false)
              AND coalesce(direction, 'EGRESS') = 'EGRESS')
          OR (source = 'tetragon' AND pod_name IS NOT NULL AND direction = 'EGRESS'))
)
SELECT cluster, namespace, pod_name, any_value(src_workload) AS workload, any_value(src_ip) AS src_ip,
    dst_ip, dst_port AS port, protocol,
    list_sort(list_distinct(list(verdict) FILTER (verdict IS NOT NULL))) AS verdicts,
    list_sort(list_distinct(flatten(list(dst_names) FILTER (dst_names IS NOT NULL)))) AS names,
    bool_or(coalesce(list_contains(dst_labels, 'reserved:kube-apiserver'), false)) AS apiserver,
    count(*) AS flows, epoch_ns(min("time")) AS first, epoch_ns(max("time")) AS last,
    list(id ORDER BY "time" DESC, id) AS ids
FROM opened
WHERE $namespace IS NULL OR namespace = $namespace
GROUP BY cluster, namespace, pod_name, dst_ip, dst_port, protocol
