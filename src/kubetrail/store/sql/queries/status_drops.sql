-- Sensors' own loss counters per cluster, source and node. Falco's metrics counters are
-- cumulative since the sensor started, so their largest value counts; Tetragon throttle starts
-- and Hubble lost-event counts are per event, so they add up.
SELECT cluster, source, node,
    CASE WHEN source = 'falco' THEN max(drop_count) ELSE sum(drop_count) END AS drops,
    max(TRY_CAST(json_extract_string(extra, '$.output_fields."scap.n_drops_perc"') AS DOUBLE)) AS drop_percent,
    count(*) AS reports, epoch_ns(max("time")) AS last
FROM objects
WHERE kind = 'sensor_stats' AND ($cluster IS NULL OR cluster = $cluster)
GROUP BY cluster, source, node
ORDER BY cluster, source, node
