-- Who held some IPs: runs of one holder in time order (gaps-and-islands), per cluster and address.
-- DuckDB keeps the runs of each ingested batch in its ip_runs table (0002: ip_runs_of, whose
-- observations and runs are computed here over the stored events, as its backfill does) and
-- merges them when read; both steps are here. {ips}: the addresses; {cluster}: a cluster or NULL.
--
-- Observations: inventory snapshots (pods not on the host network, services, nodes), Hubble
-- flow endpoints, Tetragon connections, kubelets' API calls (their node's address) and pod
-- bodies in audit events; loopback and unspecified addresses are no one's. Each is read from the
-- tables its source writes (inventory: objects; Hubble: flows; Tetragon: flows, runtime_alerts;
-- audit: api_calls).
WITH obs AS (
    SELECT cluster AS o_cluster,
        arrayJoin(JSONExtract(coalesce(extra, ''), 'ips', 'Array(Nullable(String))')) AS o_ip,
        multiIf(JSONExtractString(extra, 'object_kind') = 'Pod', 'pod',
                JSONExtractString(extra, 'object_kind') = 'Service', 'service', 'node') AS o_scope,
        if(JSONExtractString(extra, 'object_kind') = 'Pod', namespace, NULL) AS o_ns,
        pod_name AS o_pod, pod_uid AS o_pod_uid, node AS o_node,
        if(JSONExtractString(extra, 'object_kind') = 'Service', namespace || '/' || object_name, NULL) AS o_service,
        time AS o_seen,
        parseDateTime64BestEffortOrNull(JSONExtractString(coalesce(raw, ''), 'metadata', 'creationTimestamp'), 9, 'UTC') AS o_born,
        parseDateTime64BestEffortOrNull(JSONExtractString(coalesce(raw, ''), 'metadata', 'deletionTimestamp'), 9, 'UTC') AS o_died
    FROM objects FINAL
    WHERE source = 'inventory' AND JSONExtractString(extra, 'object_kind') IN ('Pod', 'Service', 'Node')
        AND coalesce(JSONExtractRaw(extra, 'host_network'), '') NOT IN ('true', '"true"')
    UNION ALL
    SELECT cluster, src_ip, 'pod', src_namespace, src_pod_name, NULL, NULL, NULL, time, NULL, NULL
    FROM flows FINAL WHERE source = 'hubble' AND src_ip IS NOT NULL AND src_pod_name IS NOT NULL
    UNION ALL
    SELECT cluster, dst_ip, 'pod', dst_namespace, dst_pod_name, NULL, NULL, NULL, time, NULL, NULL
    FROM flows FINAL WHERE source = 'hubble' AND dst_ip IS NOT NULL AND dst_pod_name IS NOT NULL
    UNION ALL
    SELECT cluster, src_ip, 'pod', namespace, pod_name, NULL, node, NULL, time, NULL, NULL
    FROM flows FINAL WHERE source = 'tetragon' AND src_ip IS NOT NULL AND pod_name IS NOT NULL
    UNION ALL
    SELECT cluster, src_ip, 'pod', namespace, pod_name, NULL, node, NULL, time, NULL, NULL
    FROM runtime_alerts FINAL WHERE source = 'tetragon' AND src_ip IS NOT NULL AND pod_name IS NOT NULL
    UNION ALL
    -- A kubelet calls the API server from its node's address.
    SELECT cluster, arrayElementOrNull(source_ips, 1), 'node', NULL, NULL, NULL, splitByChar(':', assumeNotNull(actor))[3], NULL,
        time, NULL, NULL
    FROM api_calls FINAL WHERE source = 'k8s_audit' AND actor LIKE 'system:node:%' AND arrayElementOrNull(source_ips, 1) IS NOT NULL
    UNION ALL
    SELECT cluster, arrayJoin(JSONExtract(coalesce(extra, ''), 'pod', 'ips', 'Array(Nullable(String))')), 'pod', namespace,
        pod_name, pod_uid, node, NULL, time, NULL, NULL
    FROM api_calls FINAL WHERE source = 'k8s_audit' AND resource = 'pods' AND pod_name IS NOT NULL
),
keyed AS (
    SELECT *, o_scope || ':' || coalesce(o_ns || '/' || o_pod, o_service, o_node, '?') AS o_holder
    FROM obs
    -- Every pod has its own loopback (health checks connect 127.0.0.1): no one holds it.
    WHERE o_ip IS NOT NULL AND o_ip NOT LIKE '127.%' AND o_ip NOT IN ('::1', '0.0.0.0', '::')
        -- runs are per (cluster, ip): filtering the observations keeps the runs of the addresses asked
        AND has({ips:Array(String)}, assumeNotNull(o_ip))
        AND ({cluster:Nullable(String)} IS NULL OR o_cluster = {cluster:Nullable(String)})
),
numbered AS (
    SELECT *, sum(o_new) OVER (PARTITION BY o_cluster, o_ip ORDER BY o_seen, o_holder ROWS UNBOUNDED PRECEDING) AS o_run
    FROM (
        SELECT *, if(o_holder = lagInFrame(o_holder, 1, '') OVER (PARTITION BY o_cluster, o_ip ORDER BY o_seen, o_holder
                                                                   ROWS BETWEEN 1 PRECEDING AND CURRENT ROW), 0, 1) AS o_new
        FROM keyed
    )
),
-- The rows DuckDB's ip_runs table holds for these addresses.
runs AS (
    SELECT o_cluster AS r_cluster, o_ip AS r_ip, any(o_scope) AS r_scope, any(o_ns) AS r_ns, any(o_pod) AS r_pod,
        max(o_pod_uid) AS r_pod_uid, max(o_node) AS r_node, any(o_service) AS r_service,
        min(o_seen) AS r_first, max(o_seen) AS r_last, min(o_born) AS r_born, max(o_died) AS r_died, count() AS r_obs
    FROM numbered
    GROUP BY o_cluster, o_ip, o_run
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
