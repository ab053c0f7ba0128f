-- How many events of a source the window holds, and the newest event of that source overall.
SELECT
    countIf(e.time >= fromUnixTimestamp64Nano({since:Int64}) AND e.time < fromUnixTimestamp64Nano({until:Int64})
            AND ({cluster:Nullable(String)} IS NULL OR e.cluster = {cluster:Nullable(String)})) AS in_window,
    toUnixTimestamp64Nano(maxOrNull(e.time)) AS newest
FROM events AS e
WHERE e.source = {source:Nullable(String)}
