-- 0005: drop the event-id index of the withdrawn migration 0003 (its memory grows with the store
-- past the store's memory limit).
DROP INDEX IF EXISTS events_id;
