-- Events touching one entity in a window, by time: a pod (as subject, source or destination of a
-- flow, or named by a bound token), or an actor (as caller or impersonator).
-- $pod_ns/$pod_name or $actor (the other NULL); $since/$until: ns; $cluster: filter or NULL;
-- $offset/$limit: the page.
-- Two steps, for speed: the page is found on narrow columns, then only its rows read the rest.
WITH page AS (
    SELECT rowid AS row, "time", id
    FROM events
    WHERE "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until)
        AND ($cluster IS NULL OR cluster = $cluster)
        AND (
            ($pod_name IS NOT NULL AND (
                (namespace = $pod_ns AND pod_name = $pod_name)
                OR (src_namespace = $pod_ns AND src_pod_name = $pod_name)
                OR (dst_namespace = $pod_ns AND dst_pod_name = $pod_name)
                OR (token_pod_name = $pod_name AND split_part(service_account, '/', 1) = $pod_ns)))
            OR ($actor IS NOT NULL AND (actor = $actor OR impersonated_by = $actor))
        )
    ORDER BY "time", id
    LIMIT $limit OFFSET $offset
)
SELECT p.id, e.source, e.kind, epoch_ns(p."time") AS "time", coalesce(e.summary, e.kind) AS summary
FROM page p JOIN events e ON e.rowid = p.row
ORDER BY p."time", p.id
