-- The rows of egress_hours (0004) of a batch's events: the connections pods opened (as DuckDB's
-- opened_connections view, 0008: replies and a destination's view of a connection are not
-- connections), per (cluster, pod, destination, port, protocol, hour), as DuckDB's
-- egress_hours_of (0010).
INSERT INTO egress_hours
SELECT assumeNotNull(cluster), coalesce(src_namespace, namespace) AS _namespace,
    assumeNotNull(coalesce(src_pod_name, pod_name)) AS _pod_name, assumeNotNull(dst_ip), dst_port,
    coalesce(protocol, 'unknown') AS _protocol, toStartOfHour(assumeNotNull(time)) AS _hour,
    min(src_workload), min(src_ip), groupUniqArrayIf(assumeNotNull(verdict), verdict IS NOT NULL),
    groupUniqArrayArray(dst_names), max(has(dst_labels, 'reserved:kube-apiserver')),
    uniqExactState(assumeNotNull(id)), min(assumeNotNull(time)), max(assumeNotNull(time)),
    groupArraySorted(20)((-toUnixTimestamp64Nano(assumeNotNull(time)), assumeNotNull(id)))
FROM {batch}
WHERE kind IN ('network_flow', 'http', 'dns') AND dst_ip IS NOT NULL
    AND ((source = 'hubble' AND src_pod_name IS NOT NULL AND NOT coalesce(is_reply, false)
          AND coalesce(direction, 'EGRESS') = 'EGRESS')
      OR (source = 'tetragon' AND pod_name IS NOT NULL AND direction = 'EGRESS'))
GROUP BY cluster, _namespace, _pod_name, dst_ip, dst_port, _protocol, _hour;
