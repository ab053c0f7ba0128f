-- Who held some IPs: the runs of one holder that each ingested batch recorded (the ip_runs
-- table, migration 0003, as DuckDB's 0002), merged across batches into runs in time order
-- (gaps-and-islands), per cluster and address. {ips}: the addresses; {cluster}: a cluster or NULL.
-- FINAL: a run two racing writers both wrote is read once.
WITH runs AS (
    SELECT r.cluster AS r_cluster, r.ip AS r_ip, r.scope AS r_scope, r.namespace AS r_ns, r.pod_name AS r_pod,
        r.pod_uid AS r_pod_uid, r.node AS r_node, r.service AS r_service, r.first_seen AS r_first, r.last_seen AS r_last,
        r.born AS r_born, r.died AS r_died, r.observations AS r_obs
    FROM ip_runs AS r FINAL
    WHERE r.ip IN {ips:Array(String)} AND ({cluster:Nullable(String)} IS NULL OR r.cluster = {cluster:Nullable(String)})
),
-- A node's address seen on pods belongs to the node: those pods run on the host network. Its
-- runs are the node's, one holder (as identity/ips.py's _host_network_as_node has it), so they
-- merge here instead of alternating between the node and each host-network pod.
noded AS (
    SELECT *, minIf(r_node, r_scope = 'node') OVER (PARTITION BY r_cluster, r_ip) AS r_node_name
    FROM runs
),
keyed_runs AS (
    SELECT r_cluster, r_ip,
        if(r_node_name IS NULL, r_scope, 'node') AS k_scope,
        if(r_node_name IS NULL, r_ns, NULL) AS k_ns,
        if(r_node_name IS NULL, r_pod, NULL) AS k_pod,
        if(r_node_name IS NULL, r_pod_uid, NULL) AS k_pod_uid,
        coalesce(r_node_name, r_node) AS k_node,
        r_service AS k_service, r_first AS k_first, r_last AS k_last,
        if(r_node_name IS NULL, r_born, NULL) AS k_born,
        if(r_node_name IS NULL, r_died, NULL) AS k_died,
        r_obs AS k_obs,
        if(r_node_name IS NULL, r_scope || ':' || coalesce(r_ns || '/' || r_pod, r_service, r_node, '?'),
           'node:' || r_node_name) AS k_holder
    FROM noded
),
merged AS (
    SELECT *, sum(k_new) OVER (PARTITION BY r_cluster, r_ip ORDER BY k_first, k_holder ROWS UNBOUNDED PRECEDING) AS k_run
    FROM (
        SELECT *, if(k_holder = lagInFrame(k_holder, 1, '') OVER (PARTITION BY r_cluster, r_ip ORDER BY k_first, k_holder
                                                                   ROWS BETWEEN 1 PRECEDING AND CURRENT ROW), 0, 1) AS k_new
        FROM keyed_runs
    )
)
SELECT r_cluster AS cluster, r_ip AS ip, any(k_scope) AS scope, any(k_ns) AS namespace, any(k_pod) AS pod_name,
    max(k_pod_uid) AS pod_uid, max(k_node) AS node, any(k_service) AS service,
    toUnixTimestamp64Nano(min(k_first)) AS first_seen, toUnixTimestamp64Nano(max(k_last)) AS last_seen,
    toUnixTimestamp64Nano(min(k_born)) AS born, toUnixTimestamp64Nano(max(k_died)) AS died,
    toInt64(sum(k_obs)) AS observations
FROM merged
GROUP BY r_cluster, r_ip, k_run
ORDER BY ip, cluster, first_seen, k_run
