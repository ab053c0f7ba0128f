-- Events by id, with what a step of a story shows of each (found on their keys, 0006).
-- $ids: the event ids.
SELECT id, source, kind, epoch_ns("time") AS "time", summary
FROM events
WHERE id_key IN (SELECT md5_number_lower(unnest($ids::VARCHAR[]))) AND list_contains($ids, id)
