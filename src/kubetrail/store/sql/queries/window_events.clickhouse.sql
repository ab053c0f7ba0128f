-- How many events (any source) the window holds, and the newest stored event.
SELECT
    countIf(e.time >= fromUnixTimestamp64Nano({since:Int64}) AND e.time < fromUnixTimestamp64Nano({until:Int64})) AS in_window,
    toUnixTimestamp64Nano(maxOrNull(e.time)) AS newest
FROM events AS e
