-- How many events of a source the window holds, and the newest event of that source overall.
SELECT
    count(*) FILTER ("time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until)
                     AND ($cluster IS NULL OR cluster = $cluster)) AS in_window,
    epoch_ns(max("time")) AS newest
FROM events WHERE source = $source
