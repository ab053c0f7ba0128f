-- Who held some IPs: the runs of one holder that each ingested batch recorded (the ip_runs
-- table, migration 0002), merged across batches into runs in time order (gaps-and-islands), per
-- cluster and address. $ips: the addresses; $cluster: a cluster or NULL (all).
WITH keyed AS (
    SELECT *, scope || ':' || coalesce(namespace || '/' || pod_name, service, node, '?') AS holder
    FROM ip_runs WHERE list_contains($ips, ip) AND ($cluster IS NULL OR cluster = $cluster)
),
marked AS (
    SELECT *, CASE WHEN holder IS DISTINCT FROM lag(holder) OVER w THEN 1 ELSE 0 END AS new_run
    FROM keyed WINDOW w AS (PARTITION BY cluster, ip ORDER BY first_seen, holder)
),
numbered AS (
    SELECT *, sum(new_run) OVER (PARTITION BY cluster, ip ORDER BY first_seen, holder ROWS UNBOUNDED PRECEDING) AS run
    FROM marked
)
SELECT cluster, ip, any_value(scope) AS scope, any_value(namespace) AS namespace, any_value(pod_name) AS pod_name,
    max(pod_uid) AS pod_uid, max(node) AS node, any_value(service) AS service,
    epoch_ns(min(first_seen)) AS first_seen, epoch_ns(max(last_seen)) AS last_seen,
    epoch_ns(min(born)) AS born, epoch_ns(max(died)) AS died, sum(observations)::BIGINT AS observations
FROM numbered
GROUP BY cluster, ip, run
ORDER BY ip, cluster, first_seen
