-- Process starts and connections that runtime rules (correlate/runtime_rules.py) judge: a
-- superset of what they flag. Executables under world-writable directories; shells whose
-- arguments pipe something; nsenter and chroot; connections opened to well-known mining-pool
-- ports. $since/$until: ns; $cluster: filter or NULL; $ports: the ports.
SELECT id, cluster, source, kind, epoch_ns("time") AS "time", coalesce(src_namespace, namespace) AS namespace,
    coalesce(src_pod_name, pod_name) AS pod_name, "binary", args, dst_ip, dst_port, coalesce(summary, kind) AS summary
FROM events
WHERE kind IN ('process_exec', 'network_flow') AND "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until)
    AND ($cluster IS NULL OR cluster = $cluster)
    AND coalesce(src_pod_name, pod_name) IS NOT NULL
    AND (
        (kind = 'process_exec' AND ("binary" LIKE '/tmp/%' OR "binary" LIKE '/dev/shm/%' OR "binary" LIKE '/var/tmp/%'
                                    OR "binary" LIKE '%/nsenter' OR "binary" LIKE '%/chroot'
                                    OR (args LIKE '%|%' AND regexp_matches("binary", '/(ba|da|a|z|k)?sh$|/busybox$'))))
        OR (kind = 'network_flow' AND list_contains($ports, dst_port) AND NOT coalesce(is_reply, false)
            AND coalesce(direction, 'EGRESS') = 'EGRESS')
    )
ORDER BY "time", id
