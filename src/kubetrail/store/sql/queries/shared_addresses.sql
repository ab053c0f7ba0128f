-- Pairs of clusters that saw the same addresses: who held an IP (ip_runs: inventory, Hubble and
-- Tetragon endpoints, kubelets, pod bodies in audit events) and where bound tokens were used from
-- (token_hours). Two clusters rarely share pod and node addresses over the same period; one
-- cluster split under two names always does. Read from the small tables kept at ingest.
WITH addresses AS (
    SELECT DISTINCT cluster, ip FROM ip_runs
    UNION
    SELECT DISTINCT cluster, source_ip FROM token_hours
)
SELECT a.cluster AS a, b.cluster AS b, count(*) AS shared
FROM addresses a JOIN addresses b ON a.ip = b.ip AND a.cluster < b.cluster
GROUP BY ALL
ORDER BY a, b
