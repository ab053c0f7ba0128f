-- Every API call of one user or service account in a window (the stages of one request are one
-- call; its ids are listed, latest stage first), impersonated calls included: made as {actor}, or
-- by {actor} as someone. {max_rows}: the first calls in time order that a page needs.
-- Two steps, for speed: the calls are found and grouped on narrow columns, then only the calls
-- of the page read their wide columns, from their latest stage (by id: DuckDB's rowid).
WITH calls AS (
    SELECT _cluster, coalesce(_audit_id, any(_id)) AS call, min(_time) AS first_time, max(_code) AS code,
        -- stage_time DESC NULLS LAST, id
        arrayMap(x -> x.3, arraySort(groupArray((isNull(_stage_time), -ifNull(toUnixTimestamp64Nano(_stage_time), 0), _id)))) AS ids
    FROM (
        SELECT cluster AS _cluster, audit_id AS _audit_id, id AS _id, time AS _time, stage_time AS _stage_time, code AS _code
        FROM api_calls FINAL
        WHERE source = 'k8s_audit' AND (actor = {actor:Nullable(String)} OR impersonated_by = {actor:Nullable(String)})
            AND time >= fromUnixTimestamp64Nano({since:Int64}) AND time < fromUnixTimestamp64Nano({until:Int64})
            AND ({cluster:Nullable(String)} IS NULL OR cluster = {cluster:Nullable(String)})
            AND ({namespace:Nullable(String)} IS NULL OR namespace = {namespace:Nullable(String)})
    )
    GROUP BY _cluster, _audit_id, if(_audit_id IS NULL, _id, NULL)
    ORDER BY first_time, call
    LIMIT {max_rows:UInt64}
)
SELECT c._cluster AS cluster, c.call AS call, toUnixTimestamp64Nano(c.first_time) AS time, e.actor AS actor,
    e.impersonated_by AS impersonated_by, e.service_account AS service_account, e.verb AS verb, e.resource AS resource,
    e.subresource AS subresource, e.namespace AS namespace, e.object_name AS name, c.code AS code,
    e.source_ips AS source_ips, e.user_agent AS user_agent, e.token_pod_name AS token_pod_name,
    e.token_pod_uid AS token_pod_uid, e.extra AS extra, c.ids AS ids
FROM calls AS c
INNER JOIN (SELECT * FROM api_calls FINAL WHERE id IN (SELECT c2.ids[1] FROM calls AS c2)) AS e ON e.id = c.ids[1]
ORDER BY c.first_time, c.call
