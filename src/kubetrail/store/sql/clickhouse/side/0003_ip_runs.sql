-- Who held an IP, from a batch: per (cluster, IP), its runs of one holder (gaps-and-islands over
-- the batch's observations of the address), as DuckDB's 0002 ip_runs_of computes them.
--
-- Observations: inventory snapshots (pods not on the host network, services, nodes), Hubble
-- flow endpoints, Tetragon connections, kubelets' API calls (their node's address) and pod
-- bodies in audit events; loopback and unspecified addresses are no one's. An inventory
-- snapshot's creation and deletion times are in its raw record, which the batch does not carry:
-- they are read from the objects table, where the batch's events have just been written (one
-- copy of each: two racing writers may both have written it).
INSERT INTO ip_runs (cluster, ip, scope, namespace, pod_name, pod_uid, node, service, holder, first_seen, last_seen, born,
    died, observations, first_id)
WITH inventory AS (
    SELECT b.id AS i_id, b.cluster AS i_cluster, b.extra AS i_extra, b.namespace AS i_ns, b.pod_name AS i_pod,
        b.pod_uid AS i_pod_uid, b.node AS i_node, b.object_name AS i_object, b.time AS i_time,
        JSONExtractString(b.extra, 'object_kind') AS i_kind
    FROM {batch} AS b
    WHERE b.source = 'inventory' AND JSONExtractString(b.extra, 'object_kind') IN ('Pod', 'Service', 'Node')
        AND coalesce(JSONExtractRaw(b.extra, 'host_network'), '') NOT IN ('true', '"true"')
),
lifetimes AS (
    SELECT o.id AS l_id,
        parseDateTime64BestEffortOrNull(JSONExtractString(coalesce(o.raw, ''), 'metadata', 'creationTimestamp'), 9, 'UTC') AS l_born,
        parseDateTime64BestEffortOrNull(JSONExtractString(coalesce(o.raw, ''), 'metadata', 'deletionTimestamp'), 9, 'UTC') AS l_died
    FROM objects AS o
    WHERE o.time >= (SELECT min(i_time) FROM inventory) AND o.time <= (SELECT max(i_time) FROM inventory)
        AND o.id IN (SELECT i_id FROM inventory)
    LIMIT 1 BY o.id
),
obs AS (
    SELECT i_cluster AS o_cluster,
        arrayJoin(JSONExtract(coalesce(i_extra, ''), 'ips', 'Array(Nullable(String))')) AS o_ip,
        multiIf(i_kind = 'Pod', 'pod', i_kind = 'Service', 'service', 'node') AS o_scope,
        if(i_kind = 'Pod', i_ns, NULL) AS o_ns,
        i_pod AS o_pod, i_pod_uid AS o_pod_uid, i_node AS o_node,
        if(i_kind = 'Service', i_ns || '/' || i_object, NULL) AS o_service,
        i_time AS o_seen, l_born AS o_born, l_died AS o_died, i_id AS o_id
    FROM inventory LEFT JOIN lifetimes ON lifetimes.l_id = inventory.i_id
    UNION ALL
    SELECT b.cluster, b.src_ip, 'pod', b.src_namespace, b.src_pod_name, NULL, NULL, NULL, b.time, NULL, NULL, b.id
    FROM {batch} AS b WHERE b.source = 'hubble' AND b.src_ip IS NOT NULL AND b.src_pod_name IS NOT NULL
    UNION ALL
    SELECT b.cluster, b.dst_ip, 'pod', b.dst_namespace, b.dst_pod_name, NULL, NULL, NULL, b.time, NULL, NULL, b.id
    FROM {batch} AS b WHERE b.source = 'hubble' AND b.dst_ip IS NOT NULL AND b.dst_pod_name IS NOT NULL
    UNION ALL
    SELECT b.cluster, b.src_ip, 'pod', b.namespace, b.pod_name, NULL, b.node, NULL, b.time, NULL, NULL, b.id
    FROM {batch} AS b WHERE b.source = 'tetragon' AND b.src_ip IS NOT NULL AND b.pod_name IS NOT NULL
    UNION ALL
    -- A kubelet calls the API server from its node's address.
    SELECT b.cluster, arrayElementOrNull(b.source_ips, 1), 'node', NULL, NULL, NULL, splitByChar(':', assumeNotNull(b.actor))[3],
        NULL, b.time, NULL, NULL, b.id
    FROM {batch} AS b
    WHERE b.source = 'k8s_audit' AND b.actor LIKE 'system:node:%' AND arrayElementOrNull(b.source_ips, 1) IS NOT NULL
    UNION ALL
    SELECT b.cluster, arrayJoin(JSONExtract(coalesce(b.extra, ''), 'pod', 'ips', 'Array(Nullable(String))')), 'pod', b.namespace,
        b.pod_name, b.pod_uid, b.node, NULL, b.time, NULL, NULL, b.id
    FROM {batch} AS b WHERE b.source = 'k8s_audit' AND b.resource = 'pods' AND b.pod_name IS NOT NULL
),
keyed AS (
    SELECT *, o_scope || ':' || coalesce(o_ns || '/' || o_pod, o_service, o_node, '?') AS o_holder
    FROM obs
    -- Every pod has its own loopback (health checks connect 127.0.0.1): no one holds it.
    WHERE o_ip IS NOT NULL AND o_ip NOT LIKE '127.%' AND o_ip NOT IN ('::1', '0.0.0.0', '::')
),
numbered AS (
    SELECT *, sum(o_new) OVER (PARTITION BY o_cluster, o_ip ORDER BY o_seen, o_holder ROWS UNBOUNDED PRECEDING) AS o_run
    FROM (
        SELECT *, if(o_holder = lagInFrame(o_holder, 1, '') OVER (PARTITION BY o_cluster, o_ip ORDER BY o_seen, o_holder
                                                                   ROWS BETWEEN 1 PRECEDING AND CURRENT ROW), 0, 1) AS o_new
        FROM keyed
    )
)
SELECT assumeNotNull(o_cluster), assumeNotNull(o_ip), any(o_scope), any(o_ns), any(o_pod), max(o_pod_uid), max(o_node),
    any(o_service), any(o_holder), assumeNotNull(min(o_seen)), assumeNotNull(max(o_seen)), min(o_born), max(o_died),
    toInt64(count()), assumeNotNull(min(o_id))
FROM numbered
GROUP BY o_cluster, o_ip, o_run;
