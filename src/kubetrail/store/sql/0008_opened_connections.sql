-- 0008: the connections pods opened, as every egress question counts them. Replies are not
-- connections; a flow Hubble saw at the destination (INGRESS) is the same connection as at the
-- source, so only the source's view counts; a Tetragon connect event is the process's own
-- connection. Queries filter it by time and cluster (pushed down into the scan of events).
CREATE VIEW opened_connections AS
SELECT id, cluster, source, kind, "time", dst_ip, dst_port, coalesce(protocol, 'unknown') AS protocol, verdict,
    dst_names, dst_labels, src_ip, src_workload,
    coalesce(src_namespace, namespace) AS namespace, coalesce(src_pod_name, pod_name) AS pod_name
FROM events
WHERE kind IN ('network_flow', 'http', 'dns') AND dst_ip IS NOT NULL
    AND ((source = 'hubble' AND src_pod_name IS NOT NULL AND NOT coalesce(is_reply, false)
          AND coalesce(direction, 'EGRESS') = 'EGRESS')
      OR (source = 'tetragon' AND pod_name IS NOT NULL AND direction = 'EGRESS'));
