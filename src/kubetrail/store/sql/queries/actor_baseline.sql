-- What one user or service account normally does: the user agents, verbs and resources of its
-- calls in the baseline period, and how much history that period holds.
SELECT
    count(*) AS events,
    epoch_ns(min("time")) AS first,
    epoch_ns(max("time")) AS last,
    list(DISTINCT user_agent) FILTER (user_agent IS NOT NULL) AS user_agents,
    list(DISTINCT verb || ' ' || resource || coalesce('/' || subresource, '')) FILTER (verb IS NOT NULL) AS actions
FROM events
WHERE source = 'k8s_audit' AND actor = $actor
    AND "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until)
    AND ($cluster IS NULL OR cluster = $cluster)
