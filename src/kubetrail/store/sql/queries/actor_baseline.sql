-- What one user or service account normally does: the user agents, verbs and resources of its
-- calls in the baseline period, and how much history that period holds; read from the hourly
-- rollup (0010).
SELECT
    coalesce(sum(stages), 0) AS events,
    min(first) AS first,
    max(last) AS last,
    list(DISTINCT user_agent) FILTER (user_agent IS NOT NULL) AS user_agents,
    list(DISTINCT action) FILTER (action IS NOT NULL) AS actions
FROM api_hours_in($since, $until)
WHERE actor = $actor AND ($cluster IS NULL OR cluster = $cluster)
