-- 0002: who held an IP, kept as runs at ingest. Every batch of new events adds, per (cluster,
-- IP), its runs of one holder (gaps-and-islands over the batch's observations of the address);
-- the `ip_runs` query merges the runs of every batch for one address, so reading an address's
-- history no longer scans every event. Existing events are backfilled here.
--
-- Observations: inventory snapshots (pods not on the host network, services, nodes), Hubble
-- flow endpoints, Tetragon connections, kubelets' API calls (their node's address) and pod
-- bodies in audit events. API calls with a bound token are not observations: a token can be
-- used from anywhere (that is what `ask actor` checks), so its source IP says nothing reliable
-- about who held the address. Loopback and unspecified addresses are no one's.
CREATE TABLE ip_runs (
    cluster VARCHAR NOT NULL,
    ip VARCHAR NOT NULL,
    scope VARCHAR NOT NULL,  -- pod, service or node
    namespace VARCHAR,
    pod_name VARCHAR,
    pod_uid VARCHAR,
    node VARCHAR,
    service VARCHAR,  -- "namespace/name"
    first_seen TIMESTAMP_NS NOT NULL,
    last_seen TIMESTAMP_NS NOT NULL,
    born TIMESTAMP_NS,  -- the holder's creation, when an observation said it
    died TIMESTAMP_NS,  -- its deletion, likewise
    observations BIGINT NOT NULL
);

-- The runs of one batch: `batch` names a table or view with the events table's columns.
CREATE MACRO ip_runs_of(batch) AS TABLE
WITH obs AS (
    SELECT cluster, unnest(from_json(extra->'$.ips', '["VARCHAR"]')) AS ip,
        CASE extra->>'$.object_kind' WHEN 'Pod' THEN 'pod' WHEN 'Service' THEN 'service' ELSE 'node' END AS scope,
        CASE WHEN extra->>'$.object_kind' = 'Pod' THEN namespace END AS namespace,
        pod_name, pod_uid, node,
        CASE WHEN extra->>'$.object_kind' = 'Service' THEN namespace || '/' || object_name END AS service,
        "time" AS seen,
        TRY_CAST(json_extract_string(raw, '$.metadata.creationTimestamp') AS TIMESTAMP_NS) AS born,
        TRY_CAST(json_extract_string(raw, '$.metadata.deletionTimestamp') AS TIMESTAMP_NS) AS died
    FROM query_table(batch)
    WHERE source = 'inventory' AND extra->>'$.object_kind' IN ('Pod', 'Service', 'Node')
        AND coalesce(extra->>'$.host_network', 'false') <> 'true'
    UNION ALL
    SELECT cluster, src_ip, 'pod', src_namespace, src_pod_name, NULL, NULL, NULL, "time", NULL, NULL
    FROM query_table(batch) WHERE source = 'hubble' AND src_ip IS NOT NULL AND src_pod_name IS NOT NULL
    UNION ALL
    SELECT cluster, dst_ip, 'pod', dst_namespace, dst_pod_name, NULL, NULL, NULL, "time", NULL, NULL
    FROM query_table(batch) WHERE source = 'hubble' AND dst_ip IS NOT NULL AND dst_pod_name IS NOT NULL
    UNION ALL
    SELECT cluster, src_ip, 'pod', namespace, pod_name, NULL, node, NULL, "time", NULL, NULL
    FROM query_table(batch) WHERE source = 'tetragon' AND src_ip IS NOT NULL AND pod_name IS NOT NULL
    UNION ALL
    -- A kubelet calls the API server from its node's address.
    SELECT cluster, source_ips[1], 'node', NULL, NULL, NULL, split_part(actor, ':', 3), NULL, "time", NULL, NULL
    FROM query_table(batch) WHERE source = 'k8s_audit' AND actor LIKE 'system:node:%' AND source_ips[1] IS NOT NULL
    UNION ALL
    SELECT cluster, unnest(from_json(extra->'$.pod.ips', '["VARCHAR"]')), 'pod', namespace, pod_name, pod_uid, node, NULL,
        "time", NULL, NULL
    FROM query_table(batch) WHERE source = 'k8s_audit' AND resource = 'pods' AND pod_name IS NOT NULL
        AND (extra->'$.pod.ips') IS NOT NULL
),
keyed AS (
    SELECT *, scope || ':' || coalesce(namespace || '/' || pod_name, service, node, '?') AS holder
    FROM obs
    -- Every pod has its own loopback (health checks connect 127.0.0.1): no one holds it.
    WHERE ip IS NOT NULL AND ip NOT LIKE '127.%' AND ip NOT IN ('::1', '0.0.0.0', '::')
),
marked AS (
    SELECT *, CASE WHEN holder IS DISTINCT FROM lag(holder) OVER w THEN 1 ELSE 0 END AS new_run
    FROM keyed WINDOW w AS (PARTITION BY cluster, ip ORDER BY seen, holder)
),
numbered AS (
    SELECT *, sum(new_run) OVER (PARTITION BY cluster, ip ORDER BY seen, holder ROWS UNBOUNDED PRECEDING) AS run
    FROM marked
)
SELECT cluster, ip, any_value(scope) AS scope, any_value(namespace) AS namespace, any_value(pod_name) AS pod_name,
    max(pod_uid) AS pod_uid, max(node) AS node, any_value(service) AS service,
    min(seen) AS first_seen, max(seen) AS last_seen, min(born) AS born, max(died) AS died, count(*) AS observations
FROM numbered
GROUP BY cluster, ip, run;

INSERT INTO ip_runs SELECT * FROM ip_runs_of('events');
