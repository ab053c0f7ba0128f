-- The time of the newest stored event (NULL when the store is empty).
SELECT toUnixTimestamp64Nano(maxOrNull(e.time)) AS newest FROM events AS e
