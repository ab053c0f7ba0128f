-- Every API call of one user or service account in a window (the stages of one request are one
-- call; its ids are listed, latest stage first), impersonated calls included: made as $actor, or
-- by $actor as someone. $max_rows: the first calls in time order that a page needs.
-- Two steps, for speed: the calls are found and grouped on narrow columns, then only the calls
-- of the page read their wide columns, from their latest stage, by row number.
WITH hits AS (
    SELECT cluster, audit_id, id, rowid AS row, "time", stage_time, code
    FROM api_calls
    WHERE source = 'k8s_audit' AND (actor = $actor OR impersonated_by = $actor)
        AND "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until)
        AND ($cluster IS NULL OR cluster = $cluster)
        AND ($namespace IS NULL OR namespace = $namespace)
), calls AS (
    SELECT cluster, coalesce(audit_id, any_value(id)) AS call, min("time") AS first_time, max(code) AS code,
        list(id ORDER BY stage_time DESC NULLS LAST, id) AS ids,
        list(row ORDER BY stage_time DESC NULLS LAST, id)[1] AS row
    FROM hits
    GROUP BY cluster, audit_id, CASE WHEN audit_id IS NULL THEN id END
    ORDER BY first_time, call
    LIMIT $max_rows
)
SELECT c.cluster, c.call, epoch_ns(c.first_time) AS "time", e.actor, e.impersonated_by, e.service_account, e.verb, e.resource,
    e.subresource, e.namespace, e.object_name AS name, c.code, e.source_ips, e.user_agent, e.token_pod_name,
    e.token_pod_uid, e.extra, c.ids
FROM calls c JOIN api_calls e ON e.rowid = c.row
ORDER BY c.first_time, c.call
