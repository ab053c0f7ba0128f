-- 0002: every stored event's identity, ordered by id: a batch is classified against the store
-- (duplicate, conflict, new) and an event found by its id through the primary key, where the
-- class tables (ordered by time) would be read whole. Written with each batch of events; the
-- engine merges a key written twice. Filled from the events stored before it.
CREATE TABLE IF NOT EXISTS event_keys (
    id String CODEC(ZSTD(3)),
    content_hash String CODEC(ZSTD(3)),
    time DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
    `table` LowCardinality(String)
)
ENGINE = ReplacingMergeTree
ORDER BY (id, content_hash);

INSERT INTO event_keys SELECT id, content_hash, time, 'api_calls' FROM api_calls;
INSERT INTO event_keys SELECT id, content_hash, time, 'processes' FROM processes;
INSERT INTO event_keys SELECT id, content_hash, time, 'flows' FROM flows;
INSERT INTO event_keys SELECT id, content_hash, time, 'runtime_alerts' FROM runtime_alerts;
INSERT INTO event_keys SELECT id, content_hash, time, 'spans' FROM spans;
INSERT INTO event_keys SELECT id, content_hash, time, 'objects' FROM objects;
