-- How many events (any source) the window holds, and the newest stored event.
SELECT
    count(*) FILTER ("time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until)) AS in_window,
    epoch_ns(max("time")) AS newest
FROM events
