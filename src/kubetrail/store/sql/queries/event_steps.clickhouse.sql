-- Events by id, with what a step of a story shows of each. {ids}: the event ids.
SELECT e.id AS id, e.source AS source, e.kind AS kind, toUnixTimestamp64Nano(e.time) AS time, e.summary AS summary
FROM events AS e
WHERE e.id IN {ids:Array(String)}
