-- The distinct facts of the API-call stages rules may flag in a window, with how many stages
-- share them: the rules judge each once. $since/$until: ns; $cluster: filter or NULL.
SELECT facts, actor, service_account, verb, resource, subresource, namespace, code, user_agent,
    CASE WHEN resource = 'pods' THEN extra END AS extra, count(*) AS stages
FROM risky_stages
WHERE "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until)
    AND ($cluster IS NULL OR cluster = $cluster)
GROUP BY ALL
