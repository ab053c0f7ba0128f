-- Who held an IP: every observation of the IP with its holder, grouped into runs of the same
-- holder in time order (gaps-and-islands). $ip: the address; $cluster: a cluster or NULL (all).
-- Observations: inventory snapshots (pods not on the host network, services, nodes), Hubble
-- flow endpoints, Tetragon connections, kubelets' API calls (their node's address) and pod
-- bodies in audit events. API calls with a bound
-- token are not observations: a token can be used from anywhere (that is what `ask actor`
-- checks), so its source IP says nothing reliable about who held the address.
WITH obs AS (
    SELECT cluster,
        CASE extra->>'$.object_kind' WHEN 'Pod' THEN 'pod' WHEN 'Service' THEN 'service' ELSE 'node' END AS scope,
        CASE WHEN extra->>'$.object_kind' = 'Pod' THEN namespace END AS namespace,
        pod_name, pod_uid, node,
        CASE WHEN extra->>'$.object_kind' = 'Service' THEN namespace || '/' || object_name END AS service,
        "time" AS seen,
        TRY_CAST(json_extract_string(raw, '$.metadata.creationTimestamp') AS TIMESTAMP_NS) AS born,
        TRY_CAST(json_extract_string(raw, '$.metadata.deletionTimestamp') AS TIMESTAMP_NS) AS died
    FROM events
    WHERE source = 'inventory' AND extra->>'$.object_kind' IN ('Pod', 'Service', 'Node')
        AND list_contains(from_json(extra->'$.ips', '["VARCHAR"]'), $ip)
        AND coalesce(extra->>'$.host_network', 'false') <> 'true'
    UNION ALL
    SELECT cluster, 'pod', src_namespace, src_pod_name, NULL, NULL, NULL, "time", NULL, NULL
    FROM events WHERE src_ip = $ip AND src_pod_name IS NOT NULL AND source = 'hubble'
    UNION ALL
    SELECT cluster, 'pod', dst_namespace, dst_pod_name, NULL, NULL, NULL, "time", NULL, NULL
    FROM events WHERE dst_ip = $ip AND dst_pod_name IS NOT NULL AND source = 'hubble'
    UNION ALL
    SELECT cluster, 'pod', namespace, pod_name, NULL, node, NULL, "time", NULL, NULL
    FROM events WHERE src_ip = $ip AND pod_name IS NOT NULL AND source = 'tetragon'

    UNION ALL
    -- A kubelet calls the API server from its node's address.
    SELECT cluster, 'node', NULL, NULL, NULL, split_part(actor, ':', 3), NULL, "time", NULL, NULL
    FROM events WHERE source = 'k8s_audit' AND actor LIKE 'system:node:%' AND source_ips[1] = $ip
    UNION ALL
    SELECT cluster, 'pod', namespace, pod_name, pod_uid, node, NULL, "time", NULL, NULL
    FROM events WHERE source = 'k8s_audit' AND resource = 'pods' AND pod_name IS NOT NULL
        AND list_contains(from_json(extra->'$.pod.ips', '["VARCHAR"]'), $ip)
),
keyed AS (
    SELECT *, scope || ':' || coalesce(namespace || '/' || pod_name, service, node, '?') AS holder
    FROM obs WHERE $cluster IS NULL OR cluster = $cluster
),
marked AS (
    SELECT *, CASE WHEN holder IS DISTINCT FROM lag(holder) OVER w THEN 1 ELSE 0 END AS new_run
    FROM keyed WINDOW w AS (PARTITION BY cluster ORDER BY seen, holder)
),
numbered AS (
    SELECT *, sum(new_run) OVER (PARTITION BY cluster ORDER BY seen, holder ROWS UNBOUNDED PRECEDING) AS run
    FROM marked
)
SELECT cluster, any_value(scope) AS scope, any_value(namespace) AS namespace, any_value(pod_name) AS pod_name,
    max(pod_uid) AS pod_uid, max(node) AS node, any_value(service) AS service,
    epoch_ns(min(seen)) AS first_seen, epoch_ns(max(seen)) AS last_seen,
    epoch_ns(min(born)) AS born, epoch_ns(max(died)) AS died, count(*) AS observations
FROM numbered
GROUP BY cluster, run
ORDER BY cluster, first_seen
