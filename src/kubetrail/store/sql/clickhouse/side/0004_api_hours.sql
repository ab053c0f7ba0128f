-- The rows of api_hours (0004) of a batch's events: API-call stages, per (cluster, actor, user
-- agent, action, hour), as DuckDB's api_hours_of (0010).
INSERT INTO api_hours
SELECT assumeNotNull(cluster), assumeNotNull(actor), user_agent,
    verb || ' ' || resource || coalesce('/' || subresource, '') AS _action, toStartOfHour(assumeNotNull(time)) AS _hour,
    uniqExactState(assumeNotNull(id)), min(assumeNotNull(time)), max(assumeNotNull(time))
FROM {batch}
WHERE source = 'k8s_audit' AND actor IS NOT NULL
GROUP BY cluster, actor, user_agent, _action, _hour;
