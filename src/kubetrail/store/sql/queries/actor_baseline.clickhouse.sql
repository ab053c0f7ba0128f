-- What one user or service account normally does: the user agents, verbs and resources of its
-- calls in the baseline period, and how much history that period holds. As DuckDB reads
-- api_hours_in (0010): the period's whole hours from the hourly rollup (api_hours, 0004), its
-- partial hours from the calls. `user_agents`/`actions`: sorted (DuckDB's order is arbitrary),
-- NULL when there are none (a Variant: an Array cannot be NULL). {since}/{until}: ns; {cluster}:
-- or NULL.
WITH 3600000000000 AS _H,
    intDiv({since:Int64} + _H - 1, _H) < intDiv({until:Int64}, _H) AS _whole,
    if(_whole, intDiv({since:Int64} + _H - 1, _H) * _H, {until:Int64}) AS _lo,
    if(_whole, intDiv({until:Int64}, _H) * _H, {until:Int64}) AS _hi
SELECT
    sum(_stages) AS events,
    toUnixTimestamp64Nano(min(_first)) AS first,
    toUnixTimestamp64Nano(max(_last)) AS last,
    if(empty(groupUniqArrayArray(_user_agents)), CAST(NULL AS Variant(Array(String))),
       CAST(arraySort(groupUniqArrayArray(_user_agents)) AS Variant(Array(String)))) AS user_agents,
    if(empty(groupUniqArrayArray(_actions)), CAST(NULL AS Variant(Array(String))),
       CAST(arraySort(groupUniqArrayArray(_actions)) AS Variant(Array(String)))) AS actions
FROM (
    SELECT uniqExactMerge(stages) AS _stages, minOrNull(first) AS _first, maxOrNull(last) AS _last,
        groupUniqArrayIf(assumeNotNull(user_agent), user_agent IS NOT NULL) AS _user_agents,
        groupUniqArrayIf(assumeNotNull(action), action IS NOT NULL) AS _actions
    FROM api_hours
    WHERE actor = {actor:Nullable(String)}
        AND hour >= toDateTime(intDiv(_lo, 1000000000), 'UTC') AND hour < toDateTime(intDiv(_hi, 1000000000), 'UTC')
        AND ({cluster:Nullable(String)} IS NULL OR cluster = {cluster:Nullable(String)})
    UNION ALL
    SELECT count(), minOrNull(e.time), maxOrNull(e.time),
        groupUniqArrayIf(assumeNotNull(e.user_agent), e.user_agent IS NOT NULL),
        groupUniqArrayIf(assumeNotNull(verb || ' ' || resource || coalesce('/' || subresource, '')),
                         (verb || ' ' || resource || coalesce('/' || subresource, '')) IS NOT NULL)
    FROM api_calls e FINAL
    WHERE source = 'k8s_audit' AND actor IS NOT NULL AND actor = {actor:Nullable(String)}
        AND ((e.time >= fromUnixTimestamp64Nano({since:Int64}) AND e.time < fromUnixTimestamp64Nano(_lo))
          OR (e.time >= fromUnixTimestamp64Nano(_hi) AND e.time < fromUnixTimestamp64Nano({until:Int64})))
        AND ({cluster:Nullable(String)} IS NULL OR cluster = {cluster:Nullable(String)})
)
