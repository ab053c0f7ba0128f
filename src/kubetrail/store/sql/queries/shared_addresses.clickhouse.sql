-- Pairs of clusters that saw the same addresses: who held an IP (the ip_runs table, migration
-- 0003, as DuckDB's 0002: inventory, Hubble and Tetragon endpoints, kubelets, pod bodies in audit
-- events) and where bound tokens were used from (DuckDB's token_hours, 0010, computed here from
-- the audit events). Two clusters rarely share pod and node addresses over the same period; one
-- cluster split under two names always does.
WITH addresses AS (
    SELECT DISTINCT r.cluster AS a_cluster, r.ip AS a_ip FROM ip_runs AS r
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
