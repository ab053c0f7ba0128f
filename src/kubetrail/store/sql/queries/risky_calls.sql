-- API calls that rules may flag, of any actor, in a window (one row per call, its last stage):
-- Secrets, RBAC, permission reviews, exec/attach/port-forward, pod writes, tokens, CSRs, denials
-- and anonymous calls. $since/$until: ns; $cluster: filter or NULL.
SELECT id, cluster, epoch_ns("time") AS "time", actor, impersonated_by, service_account, verb, resource, subresource,
    namespace, object_name AS name, code, user_agent, token_pod_name, token_pod_uid, source_ips, extra, summary
FROM events
WHERE source = 'k8s_audit'
    AND "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until)
    AND ($cluster IS NULL OR cluster = $cluster)
    AND (resource IN ('secrets', 'roles', 'rolebindings', 'clusterroles', 'clusterrolebindings',
                      'selfsubjectrulesreviews', 'selfsubjectaccessreviews', 'certificatesigningrequests')
         OR (resource = 'pods' AND (subresource IN ('exec', 'attach', 'portforward') OR (subresource IS NULL AND verb IN ('create', 'update', 'patch'))))
         OR (resource = 'serviceaccounts' AND subresource = 'token')
         OR code IN (401, 403) OR actor = 'system:anonymous')
QUALIFY row_number() OVER (PARTITION BY cluster, coalesce(audit_id, id) ORDER BY stage_time DESC NULLS LAST, id) = 1
ORDER BY "time", id
