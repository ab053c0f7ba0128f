-- Pairs of clusters that saw the same addresses: who held an IP (the observations of DuckDB's
-- ip_runs, 0002: inventory, Hubble and Tetragon endpoints, kubelets, pod bodies in audit events)
-- and where bound tokens were used from (DuckDB's token_hours, 0010). Two clusters rarely share
-- pod and node addresses over the same period; one cluster split under two names always does.
-- Observations are read from the tables their sources write (inventory: objects; Hubble: flows;
-- Tetragon: flows, runtime_alerts; audit: api_calls).
WITH obs AS (
    SELECT cluster AS o_cluster, arrayJoin(JSONExtract(coalesce(extra, ''), 'ips', 'Array(Nullable(String))')) AS o_ip
    FROM objects FINAL
    WHERE source = 'inventory' AND JSONExtractString(extra, 'object_kind') IN ('Pod', 'Service', 'Node')
        AND coalesce(JSONExtractRaw(extra, 'host_network'), '') NOT IN ('true', '"true"')
    UNION ALL
    SELECT cluster, src_ip FROM flows FINAL WHERE source = 'hubble' AND src_ip IS NOT NULL AND src_pod_name IS NOT NULL
    UNION ALL
    SELECT cluster, dst_ip FROM flows FINAL WHERE source = 'hubble' AND dst_ip IS NOT NULL AND dst_pod_name IS NOT NULL
    UNION ALL
    SELECT cluster, src_ip FROM flows FINAL WHERE source = 'tetragon' AND src_ip IS NOT NULL AND pod_name IS NOT NULL
    UNION ALL
    SELECT cluster, src_ip FROM runtime_alerts FINAL WHERE source = 'tetragon' AND src_ip IS NOT NULL AND pod_name IS NOT NULL
    UNION ALL
    SELECT cluster, arrayElementOrNull(source_ips, 1)
    FROM api_calls FINAL WHERE source = 'k8s_audit' AND actor LIKE 'system:node:%' AND arrayElementOrNull(source_ips, 1) IS NOT NULL
    UNION ALL
    SELECT cluster, arrayJoin(JSONExtract(coalesce(extra, ''), 'pod', 'ips', 'Array(Nullable(String))'))
    FROM api_calls FINAL WHERE source = 'k8s_audit' AND resource = 'pods' AND pod_name IS NOT NULL
),
addresses AS (
    SELECT DISTINCT o_cluster AS a_cluster, assumeNotNull(o_ip) AS a_ip FROM obs
    WHERE o_ip IS NOT NULL AND o_ip NOT LIKE '127.%' AND o_ip NOT IN ('::1', '0.0.0.0', '::')
    UNION DISTINCT
    SELECT DISTINCT cluster, assumeNotNull(arrayElementOrNull(source_ips, 1)) FROM api_calls FINAL
    WHERE source = 'k8s_audit' AND token_pod_name IS NOT NULL AND service_account IS NOT NULL
        AND arrayElementOrNull(source_ips, 1) IS NOT NULL
)
SELECT x.a_cluster AS a, y.a_cluster AS b, count() AS shared
FROM addresses AS x INNER JOIN addresses AS y ON x.a_ip = y.a_ip
WHERE x.a_cluster < y.a_cluster
GROUP BY x.a_cluster, y.a_cluster
ORDER BY a, b
