-- 0009: the API-call stages that rules may flag, of any actor: Secrets, RBAC, permission reviews,
-- exec/attach/port-forward, pod writes, tokens, CSRs, denials and anonymous calls. `facts` keys
-- what the rules read of a stage (correlate/api_rules.CallFacts), so that a query can judge each
-- distinct combination once and then read only the stages that tripped a rule.
CREATE VIEW risky_stages AS
SELECT id, cluster, "time", audit_id, stage_time, actor, impersonated_by, service_account, verb, resource, subresource,
    namespace, object_name, code, user_agent, token_pod_name, token_pod_uid, source_ips, extra, summary,
    hash(actor, service_account, verb, resource, subresource, namespace, code, user_agent,
               CASE WHEN resource = 'pods' THEN extra END) AS facts
FROM events
WHERE source = 'k8s_audit'
    AND (resource IN ('secrets', 'roles', 'rolebindings', 'clusterroles', 'clusterrolebindings',
                      'selfsubjectrulesreviews', 'selfsubjectaccessreviews', 'certificatesigningrequests')
         OR (resource = 'pods' AND (subresource IN ('exec', 'attach', 'portforward') OR (subresource IS NULL AND verb IN ('create', 'update', 'patch'))))
         OR (resource = 'serviceaccounts' AND subresource = 'token')
         OR code IN (401, 403) OR actor = 'system:anonymous');
