-- Events touching one entity in a window, by time: a pod (as subject, source or destination of a
-- flow, or named by a bound token), or an actor (as caller or impersonator).
-- {pod_ns}/{pod_name} or {actor} (the other NULL); {since}/{until}: ns; {cluster}: filter or NULL;
-- {offset}/{limit}: the page. Over the `events` view (NULL where a table has no such column, so
-- each way of touching the entity matches only in the tables that have its column); an event
-- touching the entity twice (its source and its destination) is one step.
SELECT e.id AS id, e.source AS source, e.kind AS kind, toUnixTimestamp64Nano(e.time) AS time,
    coalesce(e.summary, e.kind) AS summary
FROM events AS e
WHERE e.time >= fromUnixTimestamp64Nano({since:Int64}) AND e.time < fromUnixTimestamp64Nano({until:Int64})
    AND ({cluster:Nullable(String)} IS NULL OR e.cluster = {cluster:Nullable(String)})
    AND (
        ({pod_name:Nullable(String)} IS NOT NULL AND (
            (e.pod_name = {pod_name:Nullable(String)} AND e.namespace = {pod_ns:Nullable(String)})
            OR (e.src_pod_name = {pod_name:Nullable(String)} AND e.src_namespace = {pod_ns:Nullable(String)})
            OR (e.dst_pod_name = {pod_name:Nullable(String)} AND e.dst_namespace = {pod_ns:Nullable(String)})
            OR (e.token_pod_name = {pod_name:Nullable(String)} AND e.service_account IS NOT NULL
                AND splitByChar('/', assumeNotNull(e.service_account))[1] = {pod_ns:Nullable(String)})
        ))
        OR ({actor:Nullable(String)} IS NOT NULL AND (e.actor = {actor:Nullable(String)} OR e.impersonated_by = {actor:Nullable(String)}))
    )
ORDER BY e.time, e.id
LIMIT {limit:UInt64} OFFSET {offset:UInt64}
