-- Process starts and connections that runtime rules (correlate/runtime_rules.py) judge: a
-- superset of what they flag. Process starts from the candidates kept at ingest (0009);
-- connections opened to well-known mining-pool ports, read from the events only when the hourly
-- rollup (0010) shows any. $since/$until: ns; $cluster: filter or NULL; $ports: the ports.
WITH mining AS (
    SELECT DISTINCT cluster, dst_ip, port
    FROM egress_hours_in($since, $until)
    WHERE list_contains($ports, port) AND ($cluster IS NULL OR cluster = $cluster)
)
SELECT id, cluster, source, kind, epoch_ns("time") AS "time", namespace, pod_name, "binary", args,
    NULL AS dst_ip, NULL AS dst_port, summary
FROM exec_candidates
WHERE "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until)
    AND ($cluster IS NULL OR cluster = $cluster)
UNION ALL
SELECT id, e.cluster, source, kind, epoch_ns("time"), coalesce(src_namespace, namespace), coalesce(src_pod_name, pod_name),
    "binary", args, e.dst_ip, e.dst_port, coalesce(summary, kind)
FROM flows e SEMI JOIN mining m ON e.cluster = m.cluster AND e.dst_ip = m.dst_ip AND e.dst_port = m.port
WHERE kind = 'network_flow' AND "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until)
    AND coalesce(src_pod_name, pod_name) IS NOT NULL AND NOT coalesce(is_reply, false)
    AND coalesce(direction, 'EGRESS') = 'EGRESS'
ORDER BY "time", id
