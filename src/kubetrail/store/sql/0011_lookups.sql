-- 0011: small lookup tables kept at ingest beside the events, read when resolving addresses and
-- names, which otherwise scanned every audit or DNS event of the store per question. Every batch
-- of new events adds its rows; existing events are backfilled here.

-- Creations and deletions of pods the API server accepted (bounds of who held an address).
CREATE MACRO pod_changes_of(batch) AS TABLE
SELECT cluster, namespace, pod_name, verb, "time"
FROM query_table(batch)
WHERE source = 'k8s_audit' AND resource = 'pods' AND subresource IS NULL
    AND verb IN ('create', 'delete') AND code BETWEEN 200 AND 299 AND pod_name IS NOT NULL;

CREATE TABLE pod_changes AS SELECT * FROM pod_changes_of('events');

-- What DNS answers said of addresses: per (cluster, address, name), the first answer (of the
-- batch: rows of several batches are merged when read).
CREATE MACRO dns_answers_of(batch) AS TABLE
SELECT cluster, ip, rtrim(dns_query, '.') AS name, min("time") AS first
FROM (SELECT cluster, "time", dns_query, unnest(dns_ips) AS ip FROM query_table(batch)
      WHERE kind = 'dns' AND dns_ips IS NOT NULL AND dns_query IS NOT NULL)
GROUP BY ALL;

CREATE TABLE dns_answers AS SELECT * FROM dns_answers_of('events');
