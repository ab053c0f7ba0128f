-- Every API call of one user or service account in a window (the stages of one request are one
-- call; its ids are listed, latest stage first), impersonated calls included: made as {actor}, or
-- by {actor} as someone. {max_rows}: the first calls in time order that a page needs.
-- Two steps, for speed: the calls are found and grouped on narrow columns (once: a scalar
-- subquery, where a CTE named twice is run twice), then only the calls of the page read their
-- wide columns, from their latest stage, found by its primary key (time, id): FINAL reads only the
-- granules that hold them (a PREWHERE on the sorting key is safe with FINAL: all versions of a row
-- share it).
WITH (
    SELECT groupArray((_cluster, call, first_time, code, ids, latest_time)) FROM (
    SELECT _cluster, coalesce(_audit_id, any(_id)) AS call, min(_time) AS first_time, max(_code) AS code,
        -- stage_time DESC NULLS LAST, id
        arraySort(groupArray((isNull(_stage_time), -ifNull(toUnixTimestamp64Nano(_stage_time), 0), _id, _time))) AS stages,
        arrayMap(x -> x.3, stages) AS ids, stages[1].4 AS latest_time  -- the latest stage's time
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
) AS found
SELECT c.1 AS cluster, c.2 AS call, toUnixTimestamp64Nano(c.3) AS time, e.actor AS actor,
    e.impersonated_by AS impersonated_by, e.service_account AS service_account, e.verb AS verb, e.resource AS resource,
    e.subresource AS subresource, e.namespace AS namespace, e.object_name AS name, c.4 AS code,
    e.source_ips AS source_ips, e.user_agent AS user_agent, e.token_pod_name AS token_pod_name,
    e.token_pod_uid AS token_pod_uid, e.extra AS extra, c.5 AS ids
FROM (SELECT arrayJoin(found) AS c) AS cs
INNER JOIN (
    SELECT id, actor, impersonated_by, service_account, verb, resource, subresource, namespace, object_name, source_ips,
        user_agent, token_pod_name, token_pod_uid, extra
    FROM api_calls FINAL
    PREWHERE (time, id) IN (SELECT arrayJoin(arrayMap(x -> (x.6, x.5[1]), found)))
) AS e ON e.id = cs.c.5[1]
ORDER BY c.3, c.2
