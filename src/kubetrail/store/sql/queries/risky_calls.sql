-- The API calls in a window whose stages have the facts asked for ($facts: keys from
-- risky_call_facts), one row per call: its latest such stage. $since/$until: ns; $cluster:
-- filter or NULL.
SELECT id, facts, cluster, epoch_ns("time") AS "time", actor, impersonated_by, service_account, verb, resource, subresource,
    namespace, object_name AS name, code, user_agent, token_pod_name, token_pod_uid, source_ips, extra, summary
FROM risky_stages
WHERE "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until)
    AND ($cluster IS NULL OR cluster = $cluster)
    AND facts IN (SELECT unnest($facts::UBIGINT[]))
QUALIFY row_number() OVER (PARTITION BY cluster, coalesce(audit_id, id) ORDER BY stage_time DESC NULLS LAST, id) = 1
ORDER BY "time", id
