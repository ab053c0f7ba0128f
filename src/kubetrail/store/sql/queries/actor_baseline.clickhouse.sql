-- What one user or service account normally does: the user agents, verbs and resources of its
-- calls in the baseline period, and how much history that period holds. DuckDB reads its hourly
-- rollup (api_hours, 0010), whose rows merge across hours as over the period's calls at once:
-- those are aggregated here. `user_agents`/`actions`: sorted (DuckDB's order is arbitrary), NULL
-- when there are none (a Variant: an Array cannot be NULL). {since}/{until}: ns; {cluster}: or NULL.
SELECT
    count() AS events,
    toUnixTimestamp64Nano(minOrNull(_time)) AS first,
    toUnixTimestamp64Nano(maxOrNull(_time)) AS last,
    if(empty(groupUniqArray(_user_agent)), CAST(NULL AS Variant(Array(String))),
       CAST(arraySort(groupUniqArray(_user_agent)) AS Variant(Array(String)))) AS user_agents,
    if(empty(groupUniqArray(_action)), CAST(NULL AS Variant(Array(String))),
       CAST(arraySort(groupUniqArray(_action)) AS Variant(Array(String)))) AS actions
FROM (
    SELECT time AS _time, user_agent AS _user_agent,
        verb || ' ' || resource || coalesce('/' || subresource, '') AS _action
    FROM api_calls FINAL
    WHERE source = 'k8s_audit' AND actor IS NOT NULL AND actor = {actor:Nullable(String)}
        AND time >= fromUnixTimestamp64Nano({since:Int64}) AND time < fromUnixTimestamp64Nano({until:Int64})
        AND ({cluster:Nullable(String)} IS NULL OR cluster = {cluster:Nullable(String)})
)
