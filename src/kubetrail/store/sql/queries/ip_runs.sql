-- Who held some IPs: the runs of one holder that each ingested batch recorded (the ip_runs
-- table, migration 0002), merged across batches into runs in time order (gaps-and-islands), per
-- cluster and address. $ips: the addresses; $cluster: a cluster or NULL (all).
WITH runs AS (
    SELECT * FROM ip_runs WHERE list_contains($ips, ip) AND ($cluster IS NULL OR cluster = $cluster)
),
-- A node's address seen on pods belongs to the node: those pods run on the host network. Its
-- runs are the node's, one holder (as identity/ips.py's _host_network_as_node has it), so they
-- merge here instead of alternating between the node and each host-network pod.
nodes AS (
    SELECT cluster, ip, min(node) AS node_name FROM runs WHERE scope = 'node' GROUP BY cluster, ip
),
keyed AS (
    SELECT r.cluster, r.ip,
        CASE WHEN n.node_name IS NULL THEN r.scope ELSE 'node' END AS scope,
        CASE WHEN n.node_name IS NULL THEN r.namespace END AS namespace,
        CASE WHEN n.node_name IS NULL THEN r.pod_name END AS pod_name,
        CASE WHEN n.node_name IS NULL THEN r.pod_uid END AS pod_uid,
        coalesce(n.node_name, r.node) AS node,
        r.service, r.first_seen, r.last_seen,
        CASE WHEN n.node_name IS NULL THEN r.born END AS born,
        CASE WHEN n.node_name IS NULL THEN r.died END AS died,
        r.observations,
        CASE WHEN n.node_name IS NULL THEN r.scope || ':' || coalesce(r.namespace || '/' || r.pod_name, r.service, r.node, '?')
             ELSE 'node:' || n.node_name END AS holder
    FROM runs r LEFT JOIN nodes n USING (cluster, ip)
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
