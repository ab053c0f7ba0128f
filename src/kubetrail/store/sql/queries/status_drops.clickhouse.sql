-- Sensors' own loss counters per cluster, source and node. Falco's metrics counters are
-- cumulative since the sensor started, so their largest value counts; Tetragon throttle starts
-- and Hubble lost-event counts are per event, so they add up.
-- drop_percent: the JSON value as text (a string's content, a number's digits), read as a number
-- when it is one (DuckDB's TRY_CAST(json_extract_string(...) AS DOUBLE)).
SELECT e.cluster AS cluster, e.source AS source, e.node AS node,
    if(e.source = 'falco', max(e.drop_count), sum(e.drop_count)) AS drops,
    max(toFloat64OrNull(if(JSONType(e.extra, 'output_fields', 'scap.n_drops_perc') = 'String',
        JSONExtractString(e.extra, 'output_fields', 'scap.n_drops_perc'),
        JSONExtractRaw(e.extra, 'output_fields', 'scap.n_drops_perc')))) AS drop_percent,
    count() AS reports, toUnixTimestamp64Nano(max(e.time)) AS last
FROM objects AS e FINAL
WHERE e.kind = 'sensor_stats' AND ({cluster:Nullable(String)} IS NULL OR e.cluster = {cluster:Nullable(String)})
GROUP BY e.cluster, e.source, e.node
ORDER BY cluster, source, node
