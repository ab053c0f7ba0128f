-- Creations and deletions of pods the API server accepted, of a batch (DuckDB's 0011
-- pod_changes_of). One without a namespace is never asked for (by 'namespace/name'): not kept.
INSERT INTO pod_changes (namespace, pod_name, cluster, verb, time, id, content_hash)
SELECT assumeNotNull(b.namespace), assumeNotNull(b.pod_name), assumeNotNull(b.cluster), assumeNotNull(b.verb),
    assumeNotNull(b.time), assumeNotNull(b.id), assumeNotNull(b.content_hash)
FROM {batch} AS b
WHERE b.source = 'k8s_audit' AND b.resource = 'pods' AND b.subresource IS NULL
    AND b.verb IN ('create', 'delete') AND b.code BETWEEN 200 AND 299 AND b.pod_name IS NOT NULL
    AND b.namespace IS NOT NULL;
