-- 0009: what rules may flag, kept at ingest beside the events, so that incidents over a day read
-- a small table instead of millions of events. Every batch of new events adds its rows; existing
-- events are backfilled here.
--
-- The API-call stages that rules may flag, of any actor (about one audit event in a hundred): Secrets, RBAC, permission reviews, exec/attach/
-- port-forward, pod writes, tokens, CSRs, denials and anonymous calls. `facts` keys what the
-- rules read of a stage (correlate/api_rules.CallFacts), so that a query can judge each distinct
-- combination once and then read only the stages that tripped a rule.
CREATE MACRO risky_stages_of(batch) AS TABLE
SELECT id, cluster, "time", audit_id, stage_time, actor, impersonated_by, service_account, verb, resource, subresource,
    namespace, object_name, code, user_agent, token_pod_name, token_pod_uid, source_ips, extra, summary,
    hash(actor, service_account, verb, resource, subresource, namespace, code, user_agent,
         CASE WHEN resource = 'pods' THEN extra END) AS facts
FROM query_table(batch)
WHERE source = 'k8s_audit'
    AND (resource IN ('secrets', 'roles', 'rolebindings', 'clusterroles', 'clusterrolebindings',
                      'selfsubjectrulesreviews', 'selfsubjectaccessreviews', 'certificatesigningrequests')
         OR (resource = 'pods' AND (subresource IN ('exec', 'attach', 'portforward') OR (subresource IS NULL AND verb IN ('create', 'update', 'patch'))))
         OR (resource = 'serviceaccounts' AND subresource = 'token')
         OR code IN (401, 403) OR actor = 'system:anonymous');

CREATE TABLE risky_stages AS SELECT * FROM risky_stages_of('events');

-- Process starts that runtime rules (correlate/runtime_rules.py) judge: a superset of what they
-- flag. Executables under world-writable directories; shells whose arguments pipe something;
-- nsenter and chroot.
CREATE MACRO exec_candidates_of(batch) AS TABLE
SELECT id, cluster, source, kind, "time", namespace, pod_name, "binary", args, coalesce(summary, kind) AS summary
FROM query_table(batch)
WHERE kind = 'process_exec' AND pod_name IS NOT NULL
    AND ("binary" LIKE '/tmp/%' OR "binary" LIKE '/dev/shm/%' OR "binary" LIKE '/var/tmp/%'
         OR "binary" LIKE '%/nsenter' OR "binary" LIKE '%/chroot'
         OR (args LIKE '%|%' AND regexp_matches("binary", '/(ba|da|a|z|k)?sh$|/busybox$')));

CREATE TABLE exec_candidates AS SELECT * FROM exec_candidates_of('events');
