-- The images the pods asked for ran, per container ($pods: 'cluster|namespace|pod'), in
-- [$since, $until) ns: which versions of a workload reached a steady channel's destination
-- (correlate/steady.py). From the hourly process rollup table (0010) alone: a row of an hour at
-- the edge counts when one of its events lies inside.
SELECT DISTINCT cluster, namespace, pod_name, container, image
FROM process_hours
WHERE hour >= $since // 3600000000000 * 3600000000000 AND hour < $until AND last >= $since AND first < $until
    AND image IS NOT NULL AND container IS NOT NULL
    AND concat_ws('|', cluster, namespace, pod_name) IN (SELECT unnest($pods::VARCHAR[]))
ORDER BY ALL
