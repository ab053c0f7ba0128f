-- 0004: hourly rollups, kept with each batch of events (side/0004_*.sql) as the DuckDB store
-- keeps its own (0010): baselines (a week before a window) and day-long windows read the whole
-- hours of a window here, and only its partial hours from the events. Filled from the events
-- stored before it.
--
-- Each table is an AggregatingMergeTree: a batch adds a row per key and hour of its events, rows
-- of a key and hour are merged by the engine (and by the queries, which read the tables without
-- FINAL). Two writers racing on the same events both add their rows, so every column stays exact
-- when the same events are rolled up twice: counts are exact-distinct states of the event ids
-- (uniqExact), times and `any` values min/max, lists sets (groupUniqArrayArray), argMin/argMax of
-- the same (value, order) idempotent; evidence (`ev`) is, per batch, the batch's 20 most
-- relevant of the key and hour, kept as a set (a repeat collapses), from which a query takes the
-- 20 most relevant of its window: the 20 most relevant of a key over any hours are among them.
-- `hour`: the hour's start. A row's identity is its sorting key.

-- Processes started in containers and the runtime alerts about processes, per (cluster, pod,
-- container, binary, hour). Evidence: alerts first, then the newest.
CREATE TABLE IF NOT EXISTS process_hours (
    cluster LowCardinality(String),
    namespace LowCardinality(Nullable(String)),
    pod_name String,
    container Nullable(String),
    `binary` LowCardinality(String),
    hour DateTime('UTC'),
    pod_uid SimpleAggregateFunction(min, Nullable(String)),
    exec_node SimpleAggregateFunction(min, Nullable(String)),
    node SimpleAggregateFunction(min, Nullable(String)),
    image SimpleAggregateFunction(min, Nullable(String)),
    workload_name SimpleAggregateFunction(min, Nullable(String)),
    args AggregateFunction(argMax, Nullable(String), DateTime64(9, 'UTC')),
    execs AggregateFunction(uniqExact, Nullable(String)),
    rules SimpleAggregateFunction(groupUniqArrayArray, Array(String)),
    first SimpleAggregateFunction(min, DateTime64(9, 'UTC')),
    last SimpleAggregateFunction(max, DateTime64(9, 'UTC')),
    events AggregateFunction(uniqExact, String),
    latest_exec AggregateFunction(argMax, Nullable(String), DateTime64(9, 'UTC')),
    first_exec SimpleAggregateFunction(min, Nullable(DateTime64(9, 'UTC'))),
    latest_exec_time SimpleAggregateFunction(max, Nullable(DateTime64(9, 'UTC'))),
    ev SimpleAggregateFunction(groupUniqArrayArray, Array(Tuple(Bool, Int64, String)))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMMDD(hour)
ORDER BY (cluster, hour, namespace, pod_name, container, `binary`)
SETTINGS allow_nullable_key = 1;

-- Connections pods opened (as DuckDB's opened_connections view, 0008), per (cluster, pod,
-- destination, port, protocol, hour). Evidence: the newest.
CREATE TABLE IF NOT EXISTS egress_hours (
    cluster LowCardinality(String),
    namespace LowCardinality(Nullable(String)),
    pod_name String,
    dst_ip String,
    port Nullable(Int32),
    protocol LowCardinality(String),
    hour DateTime('UTC'),
    workload SimpleAggregateFunction(min, Nullable(String)),
    src_ip SimpleAggregateFunction(min, Nullable(String)),
    verdicts SimpleAggregateFunction(groupUniqArrayArray, Array(String)),
    names SimpleAggregateFunction(groupUniqArrayArray, Array(String)),
    apiserver SimpleAggregateFunction(max, UInt8),
    flows AggregateFunction(uniqExact, String),
    first SimpleAggregateFunction(min, DateTime64(9, 'UTC')),
    last SimpleAggregateFunction(max, DateTime64(9, 'UTC')),
    ev SimpleAggregateFunction(groupUniqArrayArray, Array(Tuple(Int64, String)))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMMDD(hour)
ORDER BY (cluster, hour, namespace, pod_name, dst_ip, port, protocol)
SETTINGS allow_nullable_key = 1;

-- Runtime alerts in pods, per (cluster, pod, rule, priority, hour); '' for an alert without a rule.
CREATE TABLE IF NOT EXISTS alert_hours (
    cluster LowCardinality(String),
    namespace LowCardinality(Nullable(String)),
    pod_name String,
    rule LowCardinality(String),
    priority LowCardinality(Nullable(String)),
    hour DateTime('UTC'),
    alerts AggregateFunction(uniqExact, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMMDD(hour)
ORDER BY (cluster, hour, namespace, pod_name, rule, priority)
SETTINGS allow_nullable_key = 1;

-- API-call stages, per (cluster, actor, user agent, action, hour): what an account normally
-- does. Ordered by actor first: a question asks about one.
CREATE TABLE IF NOT EXISTS api_hours (
    cluster LowCardinality(String),
    actor String,
    user_agent Nullable(String),
    action Nullable(String),
    hour DateTime('UTC'),
    stages AggregateFunction(uniqExact, String),
    first SimpleAggregateFunction(min, DateTime64(9, 'UTC')),
    last SimpleAggregateFunction(max, DateTime64(9, 'UTC'))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMMDD(hour)
ORDER BY (actor, cluster, hour, user_agent, action)
SETTINGS allow_nullable_key = 1;

-- Where each pod's bound token was used from, per (cluster, account, pod, source IP, hour), with
-- the first call (of calls at the same time, the first stored: by file and line, then id).
CREATE TABLE IF NOT EXISTS token_hours (
    cluster LowCardinality(String),
    service_account String,
    token_pod_name String,
    token_pod_uid Nullable(String),
    source_ip String,
    hour DateTime('UTC'),
    actor SimpleAggregateFunction(min, Nullable(String)),
    first SimpleAggregateFunction(min, DateTime64(9, 'UTC')),
    id AggregateFunction(argMin, String, Tuple(DateTime64(9, 'UTC'), Int64, Int64, String)),
    summary AggregateFunction(argMin, Nullable(String), Tuple(DateTime64(9, 'UTC'), Int64, Int64, String)),
    calls AggregateFunction(uniqExact, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMMDD(hour)
ORDER BY (cluster, hour, service_account, token_pod_name, token_pod_uid, source_ip)
SETTINGS allow_nullable_key = 1;
