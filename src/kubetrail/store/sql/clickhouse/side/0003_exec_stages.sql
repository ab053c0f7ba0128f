-- The stages of kubectl exec / attach / port-forward requests of a batch (DuckDB's 0004
-- exec_stages_of). A stage without namespace or pod is no session into a pod: not kept.
INSERT INTO exec_stages (cluster, namespace, pod_name, time, id, content_hash, subresource, actor, impersonated_by,
    exec_command, exec_container, audit_id, end_time, stage, stage_time, summary, code, file_id, line)
SELECT assumeNotNull(b.cluster), assumeNotNull(b.namespace), assumeNotNull(b.pod_name), assumeNotNull(b.time),
    assumeNotNull(b.id), assumeNotNull(b.content_hash), assumeNotNull(b.subresource), b.actor, b.impersonated_by,
    b.exec_command, b.exec_container, b.audit_id, b.end_time, b.stage, b.stage_time, b.summary, b.code, b.file_id, b.line
FROM {batch} AS b
WHERE b.source = 'k8s_audit' AND b.resource = 'pods' AND b.subresource IN ('exec', 'attach', 'portforward')
    AND b.namespace IS NOT NULL AND b.pod_name IS NOT NULL;
