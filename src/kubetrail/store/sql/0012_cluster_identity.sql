-- 0012: one cluster whatever each source calls it. `cluster` is what ingest named the event (see
-- docs/fields.md); `sensor_cluster` keeps the name the record itself carried; `time_source` the
-- record field the time came from when it was not the source's usual one. From this version on,
-- event ids and content hashes no longer include the cluster name, so that a name can be merged
-- into another in place (`kubetrail clusters merge`); a store holding events written before it
-- is refused (store/duckdb.py) rather than silently holding two identities of one event.
ALTER TABLE events ADD COLUMN sensor_cluster VARCHAR;
ALTER TABLE events ADD COLUMN time_source VARCHAR;
