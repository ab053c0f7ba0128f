-- Events touching one entity in a window, by time: a pod (as subject, source or destination of a
-- flow, or named by a bound token), or an actor (as caller or impersonator).
-- $pod_ns/$pod_name or $actor (the other NULL); $since/$until: ns; $cluster: filter or NULL;
-- $offset/$limit: the page.
-- For speed: each way of touching the entity, in each table of events that has its column, is its
-- own branch, so that its equality filters run inside the scan (an OR across columns is evaluated
-- row by row: 7x slower on a day of 10M events; the `events` view's branches of the tables
-- without the column, NULL there, are scanned all the same); each branch keeps only the first
-- rows a page can need; the page is found on narrow columns and only its rows read the rest, by
-- table and row number (reading `summary` in the branches: 3x slower at 1M). Written out from
-- model.CLASSES: a table that gains one of these columns must be added here.
WITH page AS (
    SELECT * FROM (
        (SELECT "time", id, 'api_calls' AS t, rowid AS row FROM api_calls
         WHERE $pod_name IS NOT NULL AND pod_name = $pod_name AND namespace = $pod_ns
             AND "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until) AND ($cluster IS NULL OR cluster = $cluster)
         ORDER BY "time", id LIMIT $offset + $limit)
        UNION
        (SELECT "time", id, 'processes' AS t, rowid AS row FROM processes
         WHERE $pod_name IS NOT NULL AND pod_name = $pod_name AND namespace = $pod_ns
             AND "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until) AND ($cluster IS NULL OR cluster = $cluster)
         ORDER BY "time", id LIMIT $offset + $limit)
        UNION
        (SELECT "time", id, 'flows' AS t, rowid AS row FROM flows
         WHERE $pod_name IS NOT NULL AND pod_name = $pod_name AND namespace = $pod_ns
             AND "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until) AND ($cluster IS NULL OR cluster = $cluster)
         ORDER BY "time", id LIMIT $offset + $limit)
        UNION
        (SELECT "time", id, 'runtime_alerts' AS t, rowid AS row FROM runtime_alerts
         WHERE $pod_name IS NOT NULL AND pod_name = $pod_name AND namespace = $pod_ns
             AND "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until) AND ($cluster IS NULL OR cluster = $cluster)
         ORDER BY "time", id LIMIT $offset + $limit)
        UNION
        (SELECT "time", id, 'spans' AS t, rowid AS row FROM spans
         WHERE $pod_name IS NOT NULL AND pod_name = $pod_name AND namespace = $pod_ns
             AND "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until) AND ($cluster IS NULL OR cluster = $cluster)
         ORDER BY "time", id LIMIT $offset + $limit)
        UNION
        (SELECT "time", id, 'objects' AS t, rowid AS row FROM objects
         WHERE $pod_name IS NOT NULL AND pod_name = $pod_name AND namespace = $pod_ns
             AND "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until) AND ($cluster IS NULL OR cluster = $cluster)
         ORDER BY "time", id LIMIT $offset + $limit)
        UNION
        (SELECT "time", id, 'flows' AS t, rowid AS row FROM flows
         WHERE $pod_name IS NOT NULL AND src_pod_name = $pod_name AND src_namespace = $pod_ns
             AND "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until) AND ($cluster IS NULL OR cluster = $cluster)
         ORDER BY "time", id LIMIT $offset + $limit)
        UNION
        (SELECT "time", id, 'runtime_alerts' AS t, rowid AS row FROM runtime_alerts
         WHERE $pod_name IS NOT NULL AND src_pod_name = $pod_name AND src_namespace = $pod_ns
             AND "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until) AND ($cluster IS NULL OR cluster = $cluster)
         ORDER BY "time", id LIMIT $offset + $limit)
        UNION
        (SELECT "time", id, 'spans' AS t, rowid AS row FROM spans
         WHERE $pod_name IS NOT NULL AND src_pod_name = $pod_name AND src_namespace = $pod_ns
             AND "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until) AND ($cluster IS NULL OR cluster = $cluster)
         ORDER BY "time", id LIMIT $offset + $limit)
        UNION
        (SELECT "time", id, 'flows' AS t, rowid AS row FROM flows
         WHERE $pod_name IS NOT NULL AND dst_pod_name = $pod_name AND dst_namespace = $pod_ns
             AND "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until) AND ($cluster IS NULL OR cluster = $cluster)
         ORDER BY "time", id LIMIT $offset + $limit)
        UNION
        (SELECT "time", id, 'runtime_alerts' AS t, rowid AS row FROM runtime_alerts
         WHERE $pod_name IS NOT NULL AND dst_pod_name = $pod_name AND dst_namespace = $pod_ns
             AND "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until) AND ($cluster IS NULL OR cluster = $cluster)
         ORDER BY "time", id LIMIT $offset + $limit)
        UNION
        (SELECT "time", id, 'spans' AS t, rowid AS row FROM spans
         WHERE $pod_name IS NOT NULL AND dst_pod_name = $pod_name AND dst_namespace = $pod_ns
             AND "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until) AND ($cluster IS NULL OR cluster = $cluster)
         ORDER BY "time", id LIMIT $offset + $limit)
        UNION
        (SELECT "time", id, 'api_calls' AS t, rowid AS row FROM api_calls
         WHERE $pod_name IS NOT NULL AND token_pod_name = $pod_name AND split_part(service_account, '/', 1) = $pod_ns
             AND "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until) AND ($cluster IS NULL OR cluster = $cluster)
         ORDER BY "time", id LIMIT $offset + $limit)
        UNION
        (SELECT "time", id, 'runtime_alerts' AS t, rowid AS row FROM runtime_alerts
         WHERE $pod_name IS NOT NULL AND token_pod_name = $pod_name AND split_part(service_account, '/', 1) = $pod_ns
             AND "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until) AND ($cluster IS NULL OR cluster = $cluster)
         ORDER BY "time", id LIMIT $offset + $limit)
        UNION
        (SELECT "time", id, 'api_calls' AS t, rowid AS row FROM api_calls
         WHERE $actor IS NOT NULL AND actor = $actor
             AND "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until) AND ($cluster IS NULL OR cluster = $cluster)
         ORDER BY "time", id LIMIT $offset + $limit)
        UNION
        (SELECT "time", id, 'processes' AS t, rowid AS row FROM processes
         WHERE $actor IS NOT NULL AND actor = $actor
             AND "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until) AND ($cluster IS NULL OR cluster = $cluster)
         ORDER BY "time", id LIMIT $offset + $limit)
        UNION
        (SELECT "time", id, 'flows' AS t, rowid AS row FROM flows
         WHERE $actor IS NOT NULL AND actor = $actor
             AND "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until) AND ($cluster IS NULL OR cluster = $cluster)
         ORDER BY "time", id LIMIT $offset + $limit)
        UNION
        (SELECT "time", id, 'runtime_alerts' AS t, rowid AS row FROM runtime_alerts
         WHERE $actor IS NOT NULL AND actor = $actor
             AND "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until) AND ($cluster IS NULL OR cluster = $cluster)
         ORDER BY "time", id LIMIT $offset + $limit)
        UNION
        (SELECT "time", id, 'spans' AS t, rowid AS row FROM spans
         WHERE $actor IS NOT NULL AND actor = $actor
             AND "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until) AND ($cluster IS NULL OR cluster = $cluster)
         ORDER BY "time", id LIMIT $offset + $limit)
        UNION
        (SELECT "time", id, 'objects' AS t, rowid AS row FROM objects
         WHERE $actor IS NOT NULL AND actor = $actor
             AND "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until) AND ($cluster IS NULL OR cluster = $cluster)
         ORDER BY "time", id LIMIT $offset + $limit)
        UNION
        (SELECT "time", id, 'api_calls' AS t, rowid AS row FROM api_calls
         WHERE $actor IS NOT NULL AND impersonated_by = $actor
             AND "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until) AND ($cluster IS NULL OR cluster = $cluster)
         ORDER BY "time", id LIMIT $offset + $limit)
        UNION
        (SELECT "time", id, 'runtime_alerts' AS t, rowid AS row FROM runtime_alerts
         WHERE $actor IS NOT NULL AND impersonated_by = $actor
             AND "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until) AND ($cluster IS NULL OR cluster = $cluster)
         ORDER BY "time", id LIMIT $offset + $limit)
    )  -- UNION: an event touching the entity twice (its source and its destination) is one step
    ORDER BY "time", id
    LIMIT $limit OFFSET $offset
)
SELECT * FROM (
    SELECT p.id, e.source, e.kind, epoch_ns(p."time") AS "time", coalesce(e.summary, e.kind) AS summary
    FROM page p JOIN api_calls e ON p.t = 'api_calls' AND e.rowid = p.row
    UNION ALL
    SELECT p.id, e.source, e.kind, epoch_ns(p."time") AS "time", coalesce(e.summary, e.kind) AS summary
    FROM page p JOIN processes e ON p.t = 'processes' AND e.rowid = p.row
    UNION ALL
    SELECT p.id, e.source, e.kind, epoch_ns(p."time") AS "time", coalesce(e.summary, e.kind) AS summary
    FROM page p JOIN flows e ON p.t = 'flows' AND e.rowid = p.row
    UNION ALL
    SELECT p.id, e.source, e.kind, epoch_ns(p."time") AS "time", coalesce(e.summary, e.kind) AS summary
    FROM page p JOIN runtime_alerts e ON p.t = 'runtime_alerts' AND e.rowid = p.row
    UNION ALL
    SELECT p.id, e.source, e.kind, epoch_ns(p."time") AS "time", coalesce(e.summary, e.kind) AS summary
    FROM page p JOIN spans e ON p.t = 'spans' AND e.rowid = p.row
    UNION ALL
    SELECT p.id, e.source, e.kind, epoch_ns(p."time") AS "time", coalesce(e.summary, e.kind) AS summary
    FROM page p JOIN objects e ON p.t = 'objects' AND e.rowid = p.row
)
ORDER BY "time", id
