-- 0003: the lookup tables kept beside the events, as DuckDB keeps them (its 0002 ip_runs, 0004
-- exec_stages, 0011 pod_changes and dns_answers): written with every batch of new events by
-- side/0003_<table>.sql, and filled here from the events stored before (the same statements over
-- every stored event). Questions read these instead of recomputing them from the class tables.
-- Two writers racing on the same events both write their rows: every table merges a row written
-- twice (ReplacingMergeTree on the row's identity, read FINAL; dns_answers is read as a minimum,
-- which a second copy leaves as it is). The cluster is outside every sorting key (a row's
-- identity has an event's id, which is of one cluster), so that renaming a cluster changes it in
-- place (lightweight UPDATE), as in the tables of the events.

-- Who held an IP: the runs of one holder of each batch (gaps-and-islands over the batch's
-- observations of the address), merged across batches when read (ip_runs query). `holder` is
-- what a run is of ('pod:namespace/name', 'service:namespace/name', 'node:name'); `first_id` the
-- least id of the run's events, which tells a run of another batch from a copy of the same one.
CREATE TABLE IF NOT EXISTS ip_runs (
    cluster LowCardinality(String),
    ip String,
    scope LowCardinality(String),
    namespace LowCardinality(Nullable(String)),
    pod_name Nullable(String),
    pod_uid Nullable(String),
    node LowCardinality(Nullable(String)),
    service Nullable(String),
    holder String,
    first_seen DateTime64(9, 'UTC'),
    last_seen DateTime64(9, 'UTC'),
    born Nullable(DateTime64(9, 'UTC')),
    died Nullable(DateTime64(9, 'UTC')),
    observations Int64,
    first_id String
)
ENGINE = ReplacingMergeTree
ORDER BY (ip, first_seen, holder, first_id)
SETTINGS enable_block_number_column = 1, enable_block_offset_column = 1;

-- The stages of kubectl exec / attach / port-forward requests into a pod (exec_sessions query);
-- one row per event (id, content_hash), as in the class table.
CREATE TABLE IF NOT EXISTS exec_stages (
    cluster LowCardinality(String),
    namespace LowCardinality(String),
    pod_name String,
    time DateTime64(9, 'UTC'),
    id String,
    content_hash String,
    subresource LowCardinality(String),
    actor LowCardinality(Nullable(String)),
    impersonated_by LowCardinality(Nullable(String)),
    exec_command Nullable(String),
    exec_container LowCardinality(Nullable(String)),
    audit_id Nullable(String),
    end_time Nullable(DateTime64(9, 'UTC')),
    stage LowCardinality(Nullable(String)),
    stage_time Nullable(DateTime64(9, 'UTC')),
    summary Nullable(String),
    code Nullable(Int32),
    file_id Nullable(Int64),
    line Nullable(Int64)
)
ENGINE = ReplacingMergeTree
ORDER BY (namespace, pod_name, time, id, content_hash)
SETTINGS enable_block_number_column = 1, enable_block_offset_column = 1;

-- Creations and deletions of pods the API server accepted (bounds of who held an address;
-- pod_lifecycle query); one row per event.
CREATE TABLE IF NOT EXISTS pod_changes (
    namespace LowCardinality(String),
    pod_name String,
    cluster LowCardinality(String),
    verb LowCardinality(String),
    time DateTime64(9, 'UTC'),
    id String,
    content_hash String
)
ENGINE = ReplacingMergeTree
ORDER BY (namespace, pod_name, time, id, content_hash)
SETTINGS enable_block_number_column = 1, enable_block_offset_column = 1;

-- What DNS answers said of addresses: per (cluster, address, name), the first answer of a batch
-- (dns_names query: the least of the batches'). `first_id`: the event that gave it.
CREATE TABLE IF NOT EXISTS dns_answers (
    cluster LowCardinality(String),
    ip String,
    name String,
    first DateTime64(9, 'UTC'),
    first_id String
)
ENGINE = ReplacingMergeTree
ORDER BY (ip, name, first, first_id)
SETTINGS enable_block_number_column = 1, enable_block_offset_column = 1;
