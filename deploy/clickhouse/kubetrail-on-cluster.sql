-- kubetrail's ClickHouse schema, version 7, for the cluster kubetrail (store init --on-cluster)

CREATE TABLE IF NOT EXISTS meta_local ON CLUSTER kubetrail (
    key String,
    value String,
    updated_at DateTime64(9, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/meta_local', '{replica}', updated_at)
ORDER BY key;

CREATE TABLE IF NOT EXISTS meta ON CLUSTER kubetrail AS meta_local
ENGINE = Distributed(kubetrail, currentDatabase(), meta_local, sipHash64(key));

CREATE TABLE IF NOT EXISTS files_local ON CLUSTER kubetrail (
    file_id Int64,
    path String,
    sha256 Nullable(String),
    size Nullable(Int64),
    started_at DateTime64(9, 'UTC'),
    finished_at Nullable(DateTime64(9, 'UTC')),
    source LowCardinality(Nullable(String)),
    records Nullable(Int64),
    ingested Nullable(Int64),
    duplicates Nullable(Int64),
    conflicts Nullable(Int64),
    quarantined Nullable(Int64),
    skipped_lines Nullable(Int64),
    version UInt64
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/files_local', '{replica}', version)
ORDER BY file_id;

CREATE TABLE IF NOT EXISTS files ON CLUSTER kubetrail AS files_local
ENGINE = Distributed(kubetrail, currentDatabase(), files_local, sipHash64(file_id));

CREATE TABLE IF NOT EXISTS quarantine_local ON CLUSTER kubetrail (
    file_id Int64,
    line Nullable(Int64),
    byte_offset Nullable(Int64),
    source LowCardinality(Nullable(String)),
    reason String,
    raw Nullable(String) CODEC(ZSTD(3)),
    raw_hash String,
    quarantined_at DateTime64(9, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/quarantine_local', '{replica}')
ORDER BY raw_hash;

CREATE TABLE IF NOT EXISTS quarantine ON CLUSTER kubetrail AS quarantine_local
ENGINE = Distributed(kubetrail, currentDatabase(), quarantine_local, sipHash64(raw_hash));

CREATE TABLE IF NOT EXISTS cursors_local ON CLUSTER kubetrail (
    name String,
    position Int64,
    state Nullable(String),
    updated_at DateTime64(9, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/cursors_local', '{replica}', updated_at)
ORDER BY name;

CREATE TABLE IF NOT EXISTS cursors ON CLUSTER kubetrail AS cursors_local
ENGINE = Distributed(kubetrail, currentDatabase(), cursors_local, sipHash64(name));

CREATE TABLE IF NOT EXISTS api_calls_local ON CLUSTER kubetrail (
    `id` String CODEC(ZSTD(3)),
    `time` DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
    `source` LowCardinality(String),
    `kind` LowCardinality(String),
    `format` LowCardinality(Nullable(String)),
    `time_source` LowCardinality(Nullable(String)),
    `end_time` Nullable(DateTime64(9, 'UTC')) CODEC(Delta, ZSTD(1)),
    `summary` Nullable(String) CODEC(ZSTD(3)),
    `cluster` LowCardinality(String),
    `sensor_cluster` LowCardinality(Nullable(String)),
    `node` LowCardinality(Nullable(String)),
    `namespace` LowCardinality(Nullable(String)),
    `pod_name` Nullable(String),
    `pod_uid` Nullable(String),
    `container_id` Nullable(String),
    `container_name` LowCardinality(Nullable(String)),
    `image` LowCardinality(Nullable(String)),
    `workload_kind` LowCardinality(Nullable(String)),
    `workload_name` LowCardinality(Nullable(String)),
    `service_account` LowCardinality(Nullable(String)),
    `actor` LowCardinality(Nullable(String)),
    `actor_groups` Array(String),
    `impersonated_by` LowCardinality(Nullable(String)),
    `user_agent` Nullable(String) CODEC(ZSTD(3)),
    `source_ips` Array(String),
    `token_pod_name` Nullable(String),
    `token_pod_uid` Nullable(String),
    `token_node_name` Nullable(String),
    `credential_id` Nullable(String),
    `audit_id` Nullable(String),
    `audit_level` LowCardinality(Nullable(String)),
    `stage` LowCardinality(Nullable(String)),
    `stage_time` Nullable(DateTime64(9, 'UTC')) CODEC(Delta, ZSTD(1)),
    `verb` LowCardinality(Nullable(String)),
    `resource` LowCardinality(Nullable(String)),
    `subresource` LowCardinality(Nullable(String)),
    `api_group` LowCardinality(Nullable(String)),
    `object_name` Nullable(String),
    `request_uri` Nullable(String) CODEC(ZSTD(3)),
    `code` Nullable(Int32),
    `decision` LowCardinality(Nullable(String)),
    `reason` Nullable(String),
    `exec_command` Nullable(String),
    `exec_container` LowCardinality(Nullable(String)),
    `extra` Nullable(String) CODEC(ZSTD(3)),
    `raw` Nullable(String) CODEC(ZSTD(3)),
    `file_id` Nullable(Int64),
    `line` Nullable(Int64),
    `byte_offset` Nullable(Int64),
    `content_hash` String CODEC(ZSTD(3)),
    INDEX id_bloom id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX cluster_set cluster TYPE set(64) GRANULARITY 4
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/api_calls_local', '{replica}')
PARTITION BY toYYYYMMDD(time)
ORDER BY (time, id, content_hash)
SETTINGS enable_block_number_column = 1, enable_block_offset_column = 1;

CREATE TABLE IF NOT EXISTS api_calls ON CLUSTER kubetrail AS api_calls_local
ENGINE = Distributed(kubetrail, currentDatabase(), api_calls_local, sipHash64(time, id, content_hash));

CREATE TABLE IF NOT EXISTS processes_local ON CLUSTER kubetrail (
    `id` String CODEC(ZSTD(3)),
    `time` DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
    `source` LowCardinality(String),
    `kind` LowCardinality(String),
    `format` LowCardinality(Nullable(String)),
    `time_source` LowCardinality(Nullable(String)),
    `end_time` Nullable(DateTime64(9, 'UTC')) CODEC(Delta, ZSTD(1)),
    `summary` Nullable(String) CODEC(ZSTD(3)),
    `cluster` LowCardinality(String),
    `sensor_cluster` LowCardinality(Nullable(String)),
    `node` LowCardinality(Nullable(String)),
    `namespace` LowCardinality(Nullable(String)),
    `pod_name` Nullable(String),
    `pod_uid` Nullable(String),
    `container_id` Nullable(String),
    `container_name` LowCardinality(Nullable(String)),
    `image` LowCardinality(Nullable(String)),
    `workload_kind` LowCardinality(Nullable(String)),
    `workload_name` LowCardinality(Nullable(String)),
    `service_account` LowCardinality(Nullable(String)),
    `actor` LowCardinality(Nullable(String)),
    `binary` LowCardinality(Nullable(String)),
    `args` Nullable(String),
    `pid` Nullable(Int64),
    `parent_pid` Nullable(Int64),
    `parent_binary` LowCardinality(Nullable(String)),
    `parent_args` Nullable(String),
    `exec_id` Nullable(String),
    `parent_exec_id` Nullable(String),
    `process_uid` Nullable(Int64),
    `process_user` LowCardinality(Nullable(String)),
    `cwd` Nullable(String),
    `tty` Nullable(Bool),
    `file_path` Nullable(String),
    `rule` LowCardinality(Nullable(String)),
    `priority` LowCardinality(Nullable(String)),
    `sensor_source` LowCardinality(Nullable(String)),
    `tags` Array(String),
    `drop_count` Nullable(Int64),
    `extra` Nullable(String) CODEC(ZSTD(3)),
    `raw` Nullable(String) CODEC(ZSTD(3)),
    `file_id` Nullable(Int64),
    `line` Nullable(Int64),
    `byte_offset` Nullable(Int64),
    `content_hash` String CODEC(ZSTD(3)),
    INDEX id_bloom id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX cluster_set cluster TYPE set(64) GRANULARITY 4
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/processes_local', '{replica}')
PARTITION BY toYYYYMMDD(time)
ORDER BY (time, id, content_hash)
SETTINGS enable_block_number_column = 1, enable_block_offset_column = 1;

CREATE TABLE IF NOT EXISTS processes ON CLUSTER kubetrail AS processes_local
ENGINE = Distributed(kubetrail, currentDatabase(), processes_local, sipHash64(time, id, content_hash));

CREATE TABLE IF NOT EXISTS flows_local ON CLUSTER kubetrail (
    `id` String CODEC(ZSTD(3)),
    `time` DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
    `source` LowCardinality(String),
    `kind` LowCardinality(String),
    `format` LowCardinality(Nullable(String)),
    `time_source` LowCardinality(Nullable(String)),
    `end_time` Nullable(DateTime64(9, 'UTC')) CODEC(Delta, ZSTD(1)),
    `summary` Nullable(String) CODEC(ZSTD(3)),
    `cluster` LowCardinality(String),
    `sensor_cluster` LowCardinality(Nullable(String)),
    `node` LowCardinality(Nullable(String)),
    `namespace` LowCardinality(Nullable(String)),
    `pod_name` Nullable(String),
    `pod_uid` Nullable(String),
    `container_id` Nullable(String),
    `container_name` LowCardinality(Nullable(String)),
    `image` LowCardinality(Nullable(String)),
    `workload_kind` LowCardinality(Nullable(String)),
    `workload_name` LowCardinality(Nullable(String)),
    `service_account` LowCardinality(Nullable(String)),
    `actor` LowCardinality(Nullable(String)),
    `binary` LowCardinality(Nullable(String)),
    `args` Nullable(String),
    `pid` Nullable(Int64),
    `parent_pid` Nullable(Int64),
    `parent_binary` LowCardinality(Nullable(String)),
    `parent_args` Nullable(String),
    `exec_id` Nullable(String),
    `parent_exec_id` Nullable(String),
    `process_uid` Nullable(Int64),
    `process_user` LowCardinality(Nullable(String)),
    `cwd` Nullable(String),
    `tty` Nullable(Bool),
    `file_path` Nullable(String),
    `src_ip` Nullable(String),
    `src_port` Nullable(Int32),
    `dst_ip` Nullable(String),
    `dst_port` Nullable(Int32),
    `protocol` LowCardinality(Nullable(String)),
    `verdict` LowCardinality(Nullable(String)),
    `drop_reason` LowCardinality(Nullable(String)),
    `direction` LowCardinality(Nullable(String)),
    `is_reply` Nullable(Bool),
    `src_namespace` LowCardinality(Nullable(String)),
    `src_pod_name` Nullable(String),
    `src_labels` Array(String),
    `src_identity` Nullable(Int64),
    `src_workload` LowCardinality(Nullable(String)),
    `dst_namespace` LowCardinality(Nullable(String)),
    `dst_pod_name` Nullable(String),
    `dst_labels` Array(String),
    `dst_identity` Nullable(Int64),
    `dst_workload` LowCardinality(Nullable(String)),
    `dst_names` Array(String),
    `dst_service` LowCardinality(Nullable(String)),
    `dns_query` Nullable(String),
    `dns_ips` Array(String),
    `dns_rcode` Nullable(Int32),
    `dns_ttl` Nullable(Int64),
    `http_method` LowCardinality(Nullable(String)),
    `http_url` Nullable(String),
    `http_code` Nullable(Int32),
    `http_route` LowCardinality(Nullable(String)),
    `rule` LowCardinality(Nullable(String)),
    `priority` LowCardinality(Nullable(String)),
    `sensor_source` LowCardinality(Nullable(String)),
    `tags` Array(String),
    `drop_count` Nullable(Int64),
    `trace_id` Nullable(String),
    `span_id` Nullable(String),
    `parent_span_id` Nullable(String),
    `extra` Nullable(String) CODEC(ZSTD(3)),
    `raw` Nullable(String) CODEC(ZSTD(3)),
    `file_id` Nullable(Int64),
    `line` Nullable(Int64),
    `byte_offset` Nullable(Int64),
    `content_hash` String CODEC(ZSTD(3)),
    INDEX id_bloom id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX cluster_set cluster TYPE set(64) GRANULARITY 4
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/flows_local', '{replica}')
PARTITION BY toYYYYMMDD(time)
ORDER BY (time, id, content_hash)
SETTINGS enable_block_number_column = 1, enable_block_offset_column = 1;

CREATE TABLE IF NOT EXISTS flows ON CLUSTER kubetrail AS flows_local
ENGINE = Distributed(kubetrail, currentDatabase(), flows_local, sipHash64(time, id, content_hash));

CREATE TABLE IF NOT EXISTS runtime_alerts_local ON CLUSTER kubetrail (
    `id` String CODEC(ZSTD(3)),
    `time` DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
    `source` LowCardinality(String),
    `kind` LowCardinality(String),
    `format` LowCardinality(Nullable(String)),
    `time_source` LowCardinality(Nullable(String)),
    `end_time` Nullable(DateTime64(9, 'UTC')) CODEC(Delta, ZSTD(1)),
    `summary` Nullable(String) CODEC(ZSTD(3)),
    `cluster` LowCardinality(String),
    `sensor_cluster` LowCardinality(Nullable(String)),
    `node` LowCardinality(Nullable(String)),
    `namespace` LowCardinality(Nullable(String)),
    `pod_name` Nullable(String),
    `pod_uid` Nullable(String),
    `container_id` Nullable(String),
    `container_name` LowCardinality(Nullable(String)),
    `image` LowCardinality(Nullable(String)),
    `workload_kind` LowCardinality(Nullable(String)),
    `workload_name` LowCardinality(Nullable(String)),
    `service_account` LowCardinality(Nullable(String)),
    `actor` LowCardinality(Nullable(String)),
    `actor_groups` Array(String),
    `impersonated_by` LowCardinality(Nullable(String)),
    `user_agent` Nullable(String) CODEC(ZSTD(3)),
    `source_ips` Array(String),
    `token_pod_name` Nullable(String),
    `token_pod_uid` Nullable(String),
    `token_node_name` Nullable(String),
    `credential_id` Nullable(String),
    `audit_id` Nullable(String),
    `audit_level` LowCardinality(Nullable(String)),
    `stage` LowCardinality(Nullable(String)),
    `stage_time` Nullable(DateTime64(9, 'UTC')) CODEC(Delta, ZSTD(1)),
    `verb` LowCardinality(Nullable(String)),
    `resource` LowCardinality(Nullable(String)),
    `subresource` LowCardinality(Nullable(String)),
    `api_group` LowCardinality(Nullable(String)),
    `object_name` Nullable(String),
    `request_uri` Nullable(String) CODEC(ZSTD(3)),
    `code` Nullable(Int32),
    `decision` LowCardinality(Nullable(String)),
    `reason` Nullable(String),
    `exec_command` Nullable(String),
    `exec_container` LowCardinality(Nullable(String)),
    `binary` LowCardinality(Nullable(String)),
    `args` Nullable(String),
    `pid` Nullable(Int64),
    `parent_pid` Nullable(Int64),
    `parent_binary` LowCardinality(Nullable(String)),
    `parent_args` Nullable(String),
    `exec_id` Nullable(String),
    `parent_exec_id` Nullable(String),
    `process_uid` Nullable(Int64),
    `process_user` LowCardinality(Nullable(String)),
    `cwd` Nullable(String),
    `tty` Nullable(Bool),
    `file_path` Nullable(String),
    `src_ip` Nullable(String),
    `src_port` Nullable(Int32),
    `dst_ip` Nullable(String),
    `dst_port` Nullable(Int32),
    `protocol` LowCardinality(Nullable(String)),
    `verdict` LowCardinality(Nullable(String)),
    `drop_reason` LowCardinality(Nullable(String)),
    `direction` LowCardinality(Nullable(String)),
    `is_reply` Nullable(Bool),
    `src_namespace` LowCardinality(Nullable(String)),
    `src_pod_name` Nullable(String),
    `src_labels` Array(String),
    `src_identity` Nullable(Int64),
    `src_workload` LowCardinality(Nullable(String)),
    `dst_namespace` LowCardinality(Nullable(String)),
    `dst_pod_name` Nullable(String),
    `dst_labels` Array(String),
    `dst_identity` Nullable(Int64),
    `dst_workload` LowCardinality(Nullable(String)),
    `dst_names` Array(String),
    `dst_service` LowCardinality(Nullable(String)),
    `dns_query` Nullable(String),
    `dns_ips` Array(String),
    `dns_rcode` Nullable(Int32),
    `dns_ttl` Nullable(Int64),
    `http_method` LowCardinality(Nullable(String)),
    `http_url` Nullable(String),
    `http_code` Nullable(Int32),
    `http_route` LowCardinality(Nullable(String)),
    `rule` LowCardinality(Nullable(String)),
    `priority` LowCardinality(Nullable(String)),
    `sensor_source` LowCardinality(Nullable(String)),
    `tags` Array(String),
    `drop_count` Nullable(Int64),
    `extra` Nullable(String) CODEC(ZSTD(3)),
    `raw` Nullable(String) CODEC(ZSTD(3)),
    `file_id` Nullable(Int64),
    `line` Nullable(Int64),
    `byte_offset` Nullable(Int64),
    `content_hash` String CODEC(ZSTD(3)),
    INDEX id_bloom id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX cluster_set cluster TYPE set(64) GRANULARITY 4
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/runtime_alerts_local', '{replica}')
PARTITION BY toYYYYMMDD(time)
ORDER BY (time, id, content_hash)
SETTINGS enable_block_number_column = 1, enable_block_offset_column = 1;

CREATE TABLE IF NOT EXISTS runtime_alerts ON CLUSTER kubetrail AS runtime_alerts_local
ENGINE = Distributed(kubetrail, currentDatabase(), runtime_alerts_local, sipHash64(time, id, content_hash));

CREATE TABLE IF NOT EXISTS spans_local ON CLUSTER kubetrail (
    `id` String CODEC(ZSTD(3)),
    `time` DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
    `source` LowCardinality(String),
    `kind` LowCardinality(String),
    `format` LowCardinality(Nullable(String)),
    `time_source` LowCardinality(Nullable(String)),
    `end_time` Nullable(DateTime64(9, 'UTC')) CODEC(Delta, ZSTD(1)),
    `summary` Nullable(String) CODEC(ZSTD(3)),
    `cluster` LowCardinality(String),
    `sensor_cluster` LowCardinality(Nullable(String)),
    `node` LowCardinality(Nullable(String)),
    `namespace` LowCardinality(Nullable(String)),
    `pod_name` Nullable(String),
    `pod_uid` Nullable(String),
    `container_id` Nullable(String),
    `container_name` LowCardinality(Nullable(String)),
    `image` LowCardinality(Nullable(String)),
    `workload_kind` LowCardinality(Nullable(String)),
    `workload_name` LowCardinality(Nullable(String)),
    `service_account` LowCardinality(Nullable(String)),
    `actor` LowCardinality(Nullable(String)),
    `user_agent` Nullable(String) CODEC(ZSTD(3)),
    `src_ip` Nullable(String),
    `src_port` Nullable(Int32),
    `dst_ip` Nullable(String),
    `dst_port` Nullable(Int32),
    `protocol` LowCardinality(Nullable(String)),
    `verdict` LowCardinality(Nullable(String)),
    `drop_reason` LowCardinality(Nullable(String)),
    `direction` LowCardinality(Nullable(String)),
    `is_reply` Nullable(Bool),
    `src_namespace` LowCardinality(Nullable(String)),
    `src_pod_name` Nullable(String),
    `src_labels` Array(String),
    `src_identity` Nullable(Int64),
    `src_workload` LowCardinality(Nullable(String)),
    `dst_namespace` LowCardinality(Nullable(String)),
    `dst_pod_name` Nullable(String),
    `dst_labels` Array(String),
    `dst_identity` Nullable(Int64),
    `dst_workload` LowCardinality(Nullable(String)),
    `dst_names` Array(String),
    `dst_service` LowCardinality(Nullable(String)),
    `dns_query` Nullable(String),
    `dns_ips` Array(String),
    `dns_rcode` Nullable(Int32),
    `dns_ttl` Nullable(Int64),
    `http_method` LowCardinality(Nullable(String)),
    `http_url` Nullable(String),
    `http_code` Nullable(Int32),
    `http_route` LowCardinality(Nullable(String)),
    `priority` LowCardinality(Nullable(String)),
    `trace_id` Nullable(String),
    `span_id` Nullable(String),
    `parent_span_id` Nullable(String),
    `span_name` Nullable(String),
    `span_kind` LowCardinality(Nullable(String)),
    `service_name` LowCardinality(Nullable(String)),
    `enduser_id` Nullable(String),
    `status` LowCardinality(Nullable(String)),
    `extra` Nullable(String) CODEC(ZSTD(3)),
    `raw` Nullable(String) CODEC(ZSTD(3)),
    `file_id` Nullable(Int64),
    `line` Nullable(Int64),
    `byte_offset` Nullable(Int64),
    `content_hash` String CODEC(ZSTD(3)),
    INDEX id_bloom id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX cluster_set cluster TYPE set(64) GRANULARITY 4
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/spans_local', '{replica}')
PARTITION BY toYYYYMMDD(time)
ORDER BY (time, id, content_hash)
SETTINGS enable_block_number_column = 1, enable_block_offset_column = 1;

CREATE TABLE IF NOT EXISTS spans ON CLUSTER kubetrail AS spans_local
ENGINE = Distributed(kubetrail, currentDatabase(), spans_local, sipHash64(time, id, content_hash));

CREATE TABLE IF NOT EXISTS objects_local ON CLUSTER kubetrail (
    `id` String CODEC(ZSTD(3)),
    `time` DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
    `source` LowCardinality(String),
    `kind` LowCardinality(String),
    `format` LowCardinality(Nullable(String)),
    `time_source` LowCardinality(Nullable(String)),
    `end_time` Nullable(DateTime64(9, 'UTC')) CODEC(Delta, ZSTD(1)),
    `summary` Nullable(String) CODEC(ZSTD(3)),
    `cluster` LowCardinality(String),
    `sensor_cluster` LowCardinality(Nullable(String)),
    `node` LowCardinality(Nullable(String)),
    `namespace` LowCardinality(Nullable(String)),
    `pod_name` Nullable(String),
    `pod_uid` Nullable(String),
    `container_id` Nullable(String),
    `container_name` LowCardinality(Nullable(String)),
    `image` LowCardinality(Nullable(String)),
    `workload_kind` LowCardinality(Nullable(String)),
    `workload_name` LowCardinality(Nullable(String)),
    `service_account` LowCardinality(Nullable(String)),
    `actor` LowCardinality(Nullable(String)),
    `object_name` Nullable(String),
    `rule` LowCardinality(Nullable(String)),
    `priority` LowCardinality(Nullable(String)),
    `sensor_source` LowCardinality(Nullable(String)),
    `tags` Array(String),
    `drop_count` Nullable(Int64),
    `extra` Nullable(String) CODEC(ZSTD(3)),
    `raw` Nullable(String) CODEC(ZSTD(3)),
    `file_id` Nullable(Int64),
    `line` Nullable(Int64),
    `byte_offset` Nullable(Int64),
    `content_hash` String CODEC(ZSTD(3)),
    INDEX id_bloom id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX cluster_set cluster TYPE set(64) GRANULARITY 4
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/objects_local', '{replica}')
PARTITION BY toYYYYMMDD(time)
ORDER BY (time, id, content_hash)
SETTINGS enable_block_number_column = 1, enable_block_offset_column = 1;

CREATE TABLE IF NOT EXISTS objects ON CLUSTER kubetrail AS objects_local
ENGINE = Distributed(kubetrail, currentDatabase(), objects_local, sipHash64(time, id, content_hash));

CREATE OR REPLACE VIEW events ON CLUSTER kubetrail AS
SELECT `id`, `time`, `source`, `kind`, `format`, `time_source`, `end_time`, `summary`, `cluster`, `sensor_cluster`, `node`, `namespace`, `pod_name`, `pod_uid`, `container_id`, `container_name`, `image`, `workload_kind`, `workload_name`, `service_account`, `actor`, `actor_groups`, `impersonated_by`, `user_agent`, `source_ips`, `token_pod_name`, `token_pod_uid`, `token_node_name`, `credential_id`, `audit_id`, `audit_level`, `stage`, `stage_time`, `verb`, `resource`, `subresource`, `api_group`, `object_name`, `request_uri`, `code`, `decision`, `reason`, `exec_command`, `exec_container`, CAST(NULL AS LowCardinality(Nullable(String))) AS `binary`, CAST(NULL AS Nullable(String)) AS `args`, CAST(NULL AS Nullable(Int64)) AS `pid`, CAST(NULL AS Nullable(Int64)) AS `parent_pid`, CAST(NULL AS LowCardinality(Nullable(String))) AS `parent_binary`, CAST(NULL AS Nullable(String)) AS `parent_args`, CAST(NULL AS Nullable(String)) AS `exec_id`, CAST(NULL AS Nullable(String)) AS `parent_exec_id`, CAST(NULL AS Nullable(Int64)) AS `process_uid`, CAST(NULL AS LowCardinality(Nullable(String))) AS `process_user`, CAST(NULL AS Nullable(String)) AS `cwd`, CAST(NULL AS Nullable(Bool)) AS `tty`, CAST(NULL AS Nullable(String)) AS `file_path`, CAST(NULL AS Nullable(String)) AS `src_ip`, CAST(NULL AS Nullable(Int32)) AS `src_port`, CAST(NULL AS Nullable(String)) AS `dst_ip`, CAST(NULL AS Nullable(Int32)) AS `dst_port`, CAST(NULL AS LowCardinality(Nullable(String))) AS `protocol`, CAST(NULL AS LowCardinality(Nullable(String))) AS `verdict`, CAST(NULL AS LowCardinality(Nullable(String))) AS `drop_reason`, CAST(NULL AS LowCardinality(Nullable(String))) AS `direction`, CAST(NULL AS Nullable(Bool)) AS `is_reply`, CAST(NULL AS LowCardinality(Nullable(String))) AS `src_namespace`, CAST(NULL AS Nullable(String)) AS `src_pod_name`, CAST([] AS Array(String)) AS `src_labels`, CAST(NULL AS Nullable(Int64)) AS `src_identity`, CAST(NULL AS LowCardinality(Nullable(String))) AS `src_workload`, CAST(NULL AS LowCardinality(Nullable(String))) AS `dst_namespace`, CAST(NULL AS Nullable(String)) AS `dst_pod_name`, CAST([] AS Array(String)) AS `dst_labels`, CAST(NULL AS Nullable(Int64)) AS `dst_identity`, CAST(NULL AS LowCardinality(Nullable(String))) AS `dst_workload`, CAST([] AS Array(String)) AS `dst_names`, CAST(NULL AS LowCardinality(Nullable(String))) AS `dst_service`, CAST(NULL AS Nullable(String)) AS `dns_query`, CAST([] AS Array(String)) AS `dns_ips`, CAST(NULL AS Nullable(Int32)) AS `dns_rcode`, CAST(NULL AS Nullable(Int64)) AS `dns_ttl`, CAST(NULL AS LowCardinality(Nullable(String))) AS `http_method`, CAST(NULL AS Nullable(String)) AS `http_url`, CAST(NULL AS Nullable(Int32)) AS `http_code`, CAST(NULL AS LowCardinality(Nullable(String))) AS `http_route`, CAST(NULL AS LowCardinality(Nullable(String))) AS `rule`, CAST(NULL AS LowCardinality(Nullable(String))) AS `priority`, CAST(NULL AS LowCardinality(Nullable(String))) AS `sensor_source`, CAST([] AS Array(String)) AS `tags`, CAST(NULL AS Nullable(Int64)) AS `drop_count`, CAST(NULL AS Nullable(String)) AS `trace_id`, CAST(NULL AS Nullable(String)) AS `span_id`, CAST(NULL AS Nullable(String)) AS `parent_span_id`, CAST(NULL AS Nullable(String)) AS `span_name`, CAST(NULL AS LowCardinality(Nullable(String))) AS `span_kind`, CAST(NULL AS LowCardinality(Nullable(String))) AS `service_name`, CAST(NULL AS Nullable(String)) AS `enduser_id`, CAST(NULL AS LowCardinality(Nullable(String))) AS `status`, `extra`, `raw`, `file_id`, `line`, `byte_offset`, `content_hash`
FROM api_calls FINAL
UNION ALL
SELECT `id`, `time`, `source`, `kind`, `format`, `time_source`, `end_time`, `summary`, `cluster`, `sensor_cluster`, `node`, `namespace`, `pod_name`, `pod_uid`, `container_id`, `container_name`, `image`, `workload_kind`, `workload_name`, `service_account`, `actor`, CAST([] AS Array(String)) AS `actor_groups`, CAST(NULL AS LowCardinality(Nullable(String))) AS `impersonated_by`, CAST(NULL AS Nullable(String)) AS `user_agent`, CAST([] AS Array(String)) AS `source_ips`, CAST(NULL AS Nullable(String)) AS `token_pod_name`, CAST(NULL AS Nullable(String)) AS `token_pod_uid`, CAST(NULL AS Nullable(String)) AS `token_node_name`, CAST(NULL AS Nullable(String)) AS `credential_id`, CAST(NULL AS Nullable(String)) AS `audit_id`, CAST(NULL AS LowCardinality(Nullable(String))) AS `audit_level`, CAST(NULL AS LowCardinality(Nullable(String))) AS `stage`, CAST(NULL AS Nullable(DateTime64(9, 'UTC'))) AS `stage_time`, CAST(NULL AS LowCardinality(Nullable(String))) AS `verb`, CAST(NULL AS LowCardinality(Nullable(String))) AS `resource`, CAST(NULL AS LowCardinality(Nullable(String))) AS `subresource`, CAST(NULL AS LowCardinality(Nullable(String))) AS `api_group`, CAST(NULL AS Nullable(String)) AS `object_name`, CAST(NULL AS Nullable(String)) AS `request_uri`, CAST(NULL AS Nullable(Int32)) AS `code`, CAST(NULL AS LowCardinality(Nullable(String))) AS `decision`, CAST(NULL AS Nullable(String)) AS `reason`, CAST(NULL AS Nullable(String)) AS `exec_command`, CAST(NULL AS LowCardinality(Nullable(String))) AS `exec_container`, `binary`, `args`, `pid`, `parent_pid`, `parent_binary`, `parent_args`, `exec_id`, `parent_exec_id`, `process_uid`, `process_user`, `cwd`, `tty`, `file_path`, CAST(NULL AS Nullable(String)) AS `src_ip`, CAST(NULL AS Nullable(Int32)) AS `src_port`, CAST(NULL AS Nullable(String)) AS `dst_ip`, CAST(NULL AS Nullable(Int32)) AS `dst_port`, CAST(NULL AS LowCardinality(Nullable(String))) AS `protocol`, CAST(NULL AS LowCardinality(Nullable(String))) AS `verdict`, CAST(NULL AS LowCardinality(Nullable(String))) AS `drop_reason`, CAST(NULL AS LowCardinality(Nullable(String))) AS `direction`, CAST(NULL AS Nullable(Bool)) AS `is_reply`, CAST(NULL AS LowCardinality(Nullable(String))) AS `src_namespace`, CAST(NULL AS Nullable(String)) AS `src_pod_name`, CAST([] AS Array(String)) AS `src_labels`, CAST(NULL AS Nullable(Int64)) AS `src_identity`, CAST(NULL AS LowCardinality(Nullable(String))) AS `src_workload`, CAST(NULL AS LowCardinality(Nullable(String))) AS `dst_namespace`, CAST(NULL AS Nullable(String)) AS `dst_pod_name`, CAST([] AS Array(String)) AS `dst_labels`, CAST(NULL AS Nullable(Int64)) AS `dst_identity`, CAST(NULL AS LowCardinality(Nullable(String))) AS `dst_workload`, CAST([] AS Array(String)) AS `dst_names`, CAST(NULL AS LowCardinality(Nullable(String))) AS `dst_service`, CAST(NULL AS Nullable(String)) AS `dns_query`, CAST([] AS Array(String)) AS `dns_ips`, CAST(NULL AS Nullable(Int32)) AS `dns_rcode`, CAST(NULL AS Nullable(Int64)) AS `dns_ttl`, CAST(NULL AS LowCardinality(Nullable(String))) AS `http_method`, CAST(NULL AS Nullable(String)) AS `http_url`, CAST(NULL AS Nullable(Int32)) AS `http_code`, CAST(NULL AS LowCardinality(Nullable(String))) AS `http_route`, `rule`, `priority`, `sensor_source`, `tags`, `drop_count`, CAST(NULL AS Nullable(String)) AS `trace_id`, CAST(NULL AS Nullable(String)) AS `span_id`, CAST(NULL AS Nullable(String)) AS `parent_span_id`, CAST(NULL AS Nullable(String)) AS `span_name`, CAST(NULL AS LowCardinality(Nullable(String))) AS `span_kind`, CAST(NULL AS LowCardinality(Nullable(String))) AS `service_name`, CAST(NULL AS Nullable(String)) AS `enduser_id`, CAST(NULL AS LowCardinality(Nullable(String))) AS `status`, `extra`, `raw`, `file_id`, `line`, `byte_offset`, `content_hash`
FROM processes FINAL
UNION ALL
SELECT `id`, `time`, `source`, `kind`, `format`, `time_source`, `end_time`, `summary`, `cluster`, `sensor_cluster`, `node`, `namespace`, `pod_name`, `pod_uid`, `container_id`, `container_name`, `image`, `workload_kind`, `workload_name`, `service_account`, `actor`, CAST([] AS Array(String)) AS `actor_groups`, CAST(NULL AS LowCardinality(Nullable(String))) AS `impersonated_by`, CAST(NULL AS Nullable(String)) AS `user_agent`, CAST([] AS Array(String)) AS `source_ips`, CAST(NULL AS Nullable(String)) AS `token_pod_name`, CAST(NULL AS Nullable(String)) AS `token_pod_uid`, CAST(NULL AS Nullable(String)) AS `token_node_name`, CAST(NULL AS Nullable(String)) AS `credential_id`, CAST(NULL AS Nullable(String)) AS `audit_id`, CAST(NULL AS LowCardinality(Nullable(String))) AS `audit_level`, CAST(NULL AS LowCardinality(Nullable(String))) AS `stage`, CAST(NULL AS Nullable(DateTime64(9, 'UTC'))) AS `stage_time`, CAST(NULL AS LowCardinality(Nullable(String))) AS `verb`, CAST(NULL AS LowCardinality(Nullable(String))) AS `resource`, CAST(NULL AS LowCardinality(Nullable(String))) AS `subresource`, CAST(NULL AS LowCardinality(Nullable(String))) AS `api_group`, CAST(NULL AS Nullable(String)) AS `object_name`, CAST(NULL AS Nullable(String)) AS `request_uri`, CAST(NULL AS Nullable(Int32)) AS `code`, CAST(NULL AS LowCardinality(Nullable(String))) AS `decision`, CAST(NULL AS Nullable(String)) AS `reason`, CAST(NULL AS Nullable(String)) AS `exec_command`, CAST(NULL AS LowCardinality(Nullable(String))) AS `exec_container`, `binary`, `args`, `pid`, `parent_pid`, `parent_binary`, `parent_args`, `exec_id`, `parent_exec_id`, `process_uid`, `process_user`, `cwd`, `tty`, `file_path`, `src_ip`, `src_port`, `dst_ip`, `dst_port`, `protocol`, `verdict`, `drop_reason`, `direction`, `is_reply`, `src_namespace`, `src_pod_name`, `src_labels`, `src_identity`, `src_workload`, `dst_namespace`, `dst_pod_name`, `dst_labels`, `dst_identity`, `dst_workload`, `dst_names`, `dst_service`, `dns_query`, `dns_ips`, `dns_rcode`, `dns_ttl`, `http_method`, `http_url`, `http_code`, `http_route`, `rule`, `priority`, `sensor_source`, `tags`, `drop_count`, `trace_id`, `span_id`, `parent_span_id`, CAST(NULL AS Nullable(String)) AS `span_name`, CAST(NULL AS LowCardinality(Nullable(String))) AS `span_kind`, CAST(NULL AS LowCardinality(Nullable(String))) AS `service_name`, CAST(NULL AS Nullable(String)) AS `enduser_id`, CAST(NULL AS LowCardinality(Nullable(String))) AS `status`, `extra`, `raw`, `file_id`, `line`, `byte_offset`, `content_hash`
FROM flows FINAL
UNION ALL
SELECT `id`, `time`, `source`, `kind`, `format`, `time_source`, `end_time`, `summary`, `cluster`, `sensor_cluster`, `node`, `namespace`, `pod_name`, `pod_uid`, `container_id`, `container_name`, `image`, `workload_kind`, `workload_name`, `service_account`, `actor`, `actor_groups`, `impersonated_by`, `user_agent`, `source_ips`, `token_pod_name`, `token_pod_uid`, `token_node_name`, `credential_id`, `audit_id`, `audit_level`, `stage`, `stage_time`, `verb`, `resource`, `subresource`, `api_group`, `object_name`, `request_uri`, `code`, `decision`, `reason`, `exec_command`, `exec_container`, `binary`, `args`, `pid`, `parent_pid`, `parent_binary`, `parent_args`, `exec_id`, `parent_exec_id`, `process_uid`, `process_user`, `cwd`, `tty`, `file_path`, `src_ip`, `src_port`, `dst_ip`, `dst_port`, `protocol`, `verdict`, `drop_reason`, `direction`, `is_reply`, `src_namespace`, `src_pod_name`, `src_labels`, `src_identity`, `src_workload`, `dst_namespace`, `dst_pod_name`, `dst_labels`, `dst_identity`, `dst_workload`, `dst_names`, `dst_service`, `dns_query`, `dns_ips`, `dns_rcode`, `dns_ttl`, `http_method`, `http_url`, `http_code`, `http_route`, `rule`, `priority`, `sensor_source`, `tags`, `drop_count`, CAST(NULL AS Nullable(String)) AS `trace_id`, CAST(NULL AS Nullable(String)) AS `span_id`, CAST(NULL AS Nullable(String)) AS `parent_span_id`, CAST(NULL AS Nullable(String)) AS `span_name`, CAST(NULL AS LowCardinality(Nullable(String))) AS `span_kind`, CAST(NULL AS LowCardinality(Nullable(String))) AS `service_name`, CAST(NULL AS Nullable(String)) AS `enduser_id`, CAST(NULL AS LowCardinality(Nullable(String))) AS `status`, `extra`, `raw`, `file_id`, `line`, `byte_offset`, `content_hash`
FROM runtime_alerts FINAL
UNION ALL
SELECT `id`, `time`, `source`, `kind`, `format`, `time_source`, `end_time`, `summary`, `cluster`, `sensor_cluster`, `node`, `namespace`, `pod_name`, `pod_uid`, `container_id`, `container_name`, `image`, `workload_kind`, `workload_name`, `service_account`, `actor`, CAST([] AS Array(String)) AS `actor_groups`, CAST(NULL AS LowCardinality(Nullable(String))) AS `impersonated_by`, `user_agent`, CAST([] AS Array(String)) AS `source_ips`, CAST(NULL AS Nullable(String)) AS `token_pod_name`, CAST(NULL AS Nullable(String)) AS `token_pod_uid`, CAST(NULL AS Nullable(String)) AS `token_node_name`, CAST(NULL AS Nullable(String)) AS `credential_id`, CAST(NULL AS Nullable(String)) AS `audit_id`, CAST(NULL AS LowCardinality(Nullable(String))) AS `audit_level`, CAST(NULL AS LowCardinality(Nullable(String))) AS `stage`, CAST(NULL AS Nullable(DateTime64(9, 'UTC'))) AS `stage_time`, CAST(NULL AS LowCardinality(Nullable(String))) AS `verb`, CAST(NULL AS LowCardinality(Nullable(String))) AS `resource`, CAST(NULL AS LowCardinality(Nullable(String))) AS `subresource`, CAST(NULL AS LowCardinality(Nullable(String))) AS `api_group`, CAST(NULL AS Nullable(String)) AS `object_name`, CAST(NULL AS Nullable(String)) AS `request_uri`, CAST(NULL AS Nullable(Int32)) AS `code`, CAST(NULL AS LowCardinality(Nullable(String))) AS `decision`, CAST(NULL AS Nullable(String)) AS `reason`, CAST(NULL AS Nullable(String)) AS `exec_command`, CAST(NULL AS LowCardinality(Nullable(String))) AS `exec_container`, CAST(NULL AS LowCardinality(Nullable(String))) AS `binary`, CAST(NULL AS Nullable(String)) AS `args`, CAST(NULL AS Nullable(Int64)) AS `pid`, CAST(NULL AS Nullable(Int64)) AS `parent_pid`, CAST(NULL AS LowCardinality(Nullable(String))) AS `parent_binary`, CAST(NULL AS Nullable(String)) AS `parent_args`, CAST(NULL AS Nullable(String)) AS `exec_id`, CAST(NULL AS Nullable(String)) AS `parent_exec_id`, CAST(NULL AS Nullable(Int64)) AS `process_uid`, CAST(NULL AS LowCardinality(Nullable(String))) AS `process_user`, CAST(NULL AS Nullable(String)) AS `cwd`, CAST(NULL AS Nullable(Bool)) AS `tty`, CAST(NULL AS Nullable(String)) AS `file_path`, `src_ip`, `src_port`, `dst_ip`, `dst_port`, `protocol`, `verdict`, `drop_reason`, `direction`, `is_reply`, `src_namespace`, `src_pod_name`, `src_labels`, `src_identity`, `src_workload`, `dst_namespace`, `dst_pod_name`, `dst_labels`, `dst_identity`, `dst_workload`, `dst_names`, `dst_service`, `dns_query`, `dns_ips`, `dns_rcode`, `dns_ttl`, `http_method`, `http_url`, `http_code`, `http_route`, CAST(NULL AS LowCardinality(Nullable(String))) AS `rule`, `priority`, CAST(NULL AS LowCardinality(Nullable(String))) AS `sensor_source`, CAST([] AS Array(String)) AS `tags`, CAST(NULL AS Nullable(Int64)) AS `drop_count`, `trace_id`, `span_id`, `parent_span_id`, `span_name`, `span_kind`, `service_name`, `enduser_id`, `status`, `extra`, `raw`, `file_id`, `line`, `byte_offset`, `content_hash`
FROM spans FINAL
UNION ALL
SELECT `id`, `time`, `source`, `kind`, `format`, `time_source`, `end_time`, `summary`, `cluster`, `sensor_cluster`, `node`, `namespace`, `pod_name`, `pod_uid`, `container_id`, `container_name`, `image`, `workload_kind`, `workload_name`, `service_account`, `actor`, CAST([] AS Array(String)) AS `actor_groups`, CAST(NULL AS LowCardinality(Nullable(String))) AS `impersonated_by`, CAST(NULL AS Nullable(String)) AS `user_agent`, CAST([] AS Array(String)) AS `source_ips`, CAST(NULL AS Nullable(String)) AS `token_pod_name`, CAST(NULL AS Nullable(String)) AS `token_pod_uid`, CAST(NULL AS Nullable(String)) AS `token_node_name`, CAST(NULL AS Nullable(String)) AS `credential_id`, CAST(NULL AS Nullable(String)) AS `audit_id`, CAST(NULL AS LowCardinality(Nullable(String))) AS `audit_level`, CAST(NULL AS LowCardinality(Nullable(String))) AS `stage`, CAST(NULL AS Nullable(DateTime64(9, 'UTC'))) AS `stage_time`, CAST(NULL AS LowCardinality(Nullable(String))) AS `verb`, CAST(NULL AS LowCardinality(Nullable(String))) AS `resource`, CAST(NULL AS LowCardinality(Nullable(String))) AS `subresource`, CAST(NULL AS LowCardinality(Nullable(String))) AS `api_group`, `object_name`, CAST(NULL AS Nullable(String)) AS `request_uri`, CAST(NULL AS Nullable(Int32)) AS `code`, CAST(NULL AS LowCardinality(Nullable(String))) AS `decision`, CAST(NULL AS Nullable(String)) AS `reason`, CAST(NULL AS Nullable(String)) AS `exec_command`, CAST(NULL AS LowCardinality(Nullable(String))) AS `exec_container`, CAST(NULL AS LowCardinality(Nullable(String))) AS `binary`, CAST(NULL AS Nullable(String)) AS `args`, CAST(NULL AS Nullable(Int64)) AS `pid`, CAST(NULL AS Nullable(Int64)) AS `parent_pid`, CAST(NULL AS LowCardinality(Nullable(String))) AS `parent_binary`, CAST(NULL AS Nullable(String)) AS `parent_args`, CAST(NULL AS Nullable(String)) AS `exec_id`, CAST(NULL AS Nullable(String)) AS `parent_exec_id`, CAST(NULL AS Nullable(Int64)) AS `process_uid`, CAST(NULL AS LowCardinality(Nullable(String))) AS `process_user`, CAST(NULL AS Nullable(String)) AS `cwd`, CAST(NULL AS Nullable(Bool)) AS `tty`, CAST(NULL AS Nullable(String)) AS `file_path`, CAST(NULL AS Nullable(String)) AS `src_ip`, CAST(NULL AS Nullable(Int32)) AS `src_port`, CAST(NULL AS Nullable(String)) AS `dst_ip`, CAST(NULL AS Nullable(Int32)) AS `dst_port`, CAST(NULL AS LowCardinality(Nullable(String))) AS `protocol`, CAST(NULL AS LowCardinality(Nullable(String))) AS `verdict`, CAST(NULL AS LowCardinality(Nullable(String))) AS `drop_reason`, CAST(NULL AS LowCardinality(Nullable(String))) AS `direction`, CAST(NULL AS Nullable(Bool)) AS `is_reply`, CAST(NULL AS LowCardinality(Nullable(String))) AS `src_namespace`, CAST(NULL AS Nullable(String)) AS `src_pod_name`, CAST([] AS Array(String)) AS `src_labels`, CAST(NULL AS Nullable(Int64)) AS `src_identity`, CAST(NULL AS LowCardinality(Nullable(String))) AS `src_workload`, CAST(NULL AS LowCardinality(Nullable(String))) AS `dst_namespace`, CAST(NULL AS Nullable(String)) AS `dst_pod_name`, CAST([] AS Array(String)) AS `dst_labels`, CAST(NULL AS Nullable(Int64)) AS `dst_identity`, CAST(NULL AS LowCardinality(Nullable(String))) AS `dst_workload`, CAST([] AS Array(String)) AS `dst_names`, CAST(NULL AS LowCardinality(Nullable(String))) AS `dst_service`, CAST(NULL AS Nullable(String)) AS `dns_query`, CAST([] AS Array(String)) AS `dns_ips`, CAST(NULL AS Nullable(Int32)) AS `dns_rcode`, CAST(NULL AS Nullable(Int64)) AS `dns_ttl`, CAST(NULL AS LowCardinality(Nullable(String))) AS `http_method`, CAST(NULL AS Nullable(String)) AS `http_url`, CAST(NULL AS Nullable(Int32)) AS `http_code`, CAST(NULL AS LowCardinality(Nullable(String))) AS `http_route`, `rule`, `priority`, `sensor_source`, `tags`, `drop_count`, CAST(NULL AS Nullable(String)) AS `trace_id`, CAST(NULL AS Nullable(String)) AS `span_id`, CAST(NULL AS Nullable(String)) AS `parent_span_id`, CAST(NULL AS Nullable(String)) AS `span_name`, CAST(NULL AS LowCardinality(Nullable(String))) AS `span_kind`, CAST(NULL AS LowCardinality(Nullable(String))) AS `service_name`, CAST(NULL AS Nullable(String)) AS `enduser_id`, CAST(NULL AS LowCardinality(Nullable(String))) AS `status`, `extra`, `raw`, `file_id`, `line`, `byte_offset`, `content_hash`
FROM objects FINAL;;

CREATE TABLE IF NOT EXISTS event_keys_local ON CLUSTER kubetrail (
    id String CODEC(ZSTD(3)),
    content_hash String CODEC(ZSTD(3)),
    time DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
    `table` LowCardinality(String)
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/event_keys_local', '{replica}')
ORDER BY (id, content_hash);

CREATE TABLE IF NOT EXISTS event_keys ON CLUSTER kubetrail AS event_keys_local
ENGINE = Distributed(kubetrail, currentDatabase(), event_keys_local, sipHash64(id, content_hash));

INSERT INTO event_keys SELECT id, content_hash, time, 'api_calls' FROM api_calls;

INSERT INTO event_keys SELECT id, content_hash, time, 'processes' FROM processes;

INSERT INTO event_keys SELECT id, content_hash, time, 'flows' FROM flows;

INSERT INTO event_keys SELECT id, content_hash, time, 'runtime_alerts' FROM runtime_alerts;

INSERT INTO event_keys SELECT id, content_hash, time, 'spans' FROM spans;

INSERT INTO event_keys SELECT id, content_hash, time, 'objects' FROM objects;;

CREATE TABLE IF NOT EXISTS ip_runs_local ON CLUSTER kubetrail (
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
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/ip_runs_local', '{replica}')
ORDER BY (ip, first_seen, holder, first_id)
SETTINGS enable_block_number_column = 1, enable_block_offset_column = 1;

CREATE TABLE IF NOT EXISTS ip_runs ON CLUSTER kubetrail AS ip_runs_local
ENGINE = Distributed(kubetrail, currentDatabase(), ip_runs_local, sipHash64(ip, first_seen, holder, first_id));

CREATE TABLE IF NOT EXISTS exec_stages_local ON CLUSTER kubetrail (
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
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/exec_stages_local', '{replica}')
ORDER BY (namespace, pod_name, time, id, content_hash)
SETTINGS enable_block_number_column = 1, enable_block_offset_column = 1;

CREATE TABLE IF NOT EXISTS exec_stages ON CLUSTER kubetrail AS exec_stages_local
ENGINE = Distributed(kubetrail, currentDatabase(), exec_stages_local, sipHash64(namespace, pod_name, time, id, content_hash));

CREATE TABLE IF NOT EXISTS pod_changes_local ON CLUSTER kubetrail (
    namespace LowCardinality(String),
    pod_name String,
    cluster LowCardinality(String),
    verb LowCardinality(String),
    time DateTime64(9, 'UTC'),
    id String,
    content_hash String
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/pod_changes_local', '{replica}')
ORDER BY (namespace, pod_name, time, id, content_hash)
SETTINGS enable_block_number_column = 1, enable_block_offset_column = 1;

CREATE TABLE IF NOT EXISTS pod_changes ON CLUSTER kubetrail AS pod_changes_local
ENGINE = Distributed(kubetrail, currentDatabase(), pod_changes_local, sipHash64(namespace, pod_name, time, id, content_hash));

CREATE TABLE IF NOT EXISTS dns_answers_local ON CLUSTER kubetrail (
    cluster LowCardinality(String),
    ip String,
    name String,
    first DateTime64(9, 'UTC'),
    first_id String
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/dns_answers_local', '{replica}')
ORDER BY (ip, name, first, first_id)
SETTINGS enable_block_number_column = 1, enable_block_offset_column = 1;;

CREATE TABLE IF NOT EXISTS dns_answers ON CLUSTER kubetrail AS dns_answers_local
ENGINE = Distributed(kubetrail, currentDatabase(), dns_answers_local, sipHash64(ip, name, first, first_id));

CREATE TABLE IF NOT EXISTS process_hours_local ON CLUSTER kubetrail (
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
ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/{database}/process_hours_local', '{replica}')
PARTITION BY toYYYYMMDD(hour)
ORDER BY (cluster, hour, namespace, pod_name, container, `binary`)
SETTINGS allow_nullable_key = 1;

CREATE TABLE IF NOT EXISTS process_hours ON CLUSTER kubetrail AS process_hours_local
ENGINE = Distributed(kubetrail, currentDatabase(), process_hours_local, sipHash64(cluster, hour, namespace, pod_name, container, `binary`));

CREATE TABLE IF NOT EXISTS egress_hours_local ON CLUSTER kubetrail (
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
ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/{database}/egress_hours_local', '{replica}')
PARTITION BY toYYYYMMDD(hour)
ORDER BY (cluster, hour, namespace, pod_name, dst_ip, port, protocol)
SETTINGS allow_nullable_key = 1;

CREATE TABLE IF NOT EXISTS egress_hours ON CLUSTER kubetrail AS egress_hours_local
ENGINE = Distributed(kubetrail, currentDatabase(), egress_hours_local, sipHash64(cluster, hour, namespace, pod_name, dst_ip, port, protocol));

CREATE TABLE IF NOT EXISTS alert_hours_local ON CLUSTER kubetrail (
    cluster LowCardinality(String),
    namespace LowCardinality(Nullable(String)),
    pod_name String,
    rule LowCardinality(String),
    priority LowCardinality(Nullable(String)),
    hour DateTime('UTC'),
    alerts AggregateFunction(uniqExact, String)
)
ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/{database}/alert_hours_local', '{replica}')
PARTITION BY toYYYYMMDD(hour)
ORDER BY (cluster, hour, namespace, pod_name, rule, priority)
SETTINGS allow_nullable_key = 1;

CREATE TABLE IF NOT EXISTS alert_hours ON CLUSTER kubetrail AS alert_hours_local
ENGINE = Distributed(kubetrail, currentDatabase(), alert_hours_local, sipHash64(cluster, hour, namespace, pod_name, rule, priority));

CREATE TABLE IF NOT EXISTS api_hours_local ON CLUSTER kubetrail (
    cluster LowCardinality(String),
    actor String,
    user_agent Nullable(String),
    action Nullable(String),
    hour DateTime('UTC'),
    stages AggregateFunction(uniqExact, String),
    first SimpleAggregateFunction(min, DateTime64(9, 'UTC')),
    last SimpleAggregateFunction(max, DateTime64(9, 'UTC'))
)
ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/{database}/api_hours_local', '{replica}')
PARTITION BY toYYYYMMDD(hour)
ORDER BY (actor, cluster, hour, user_agent, action)
SETTINGS allow_nullable_key = 1;

CREATE TABLE IF NOT EXISTS api_hours ON CLUSTER kubetrail AS api_hours_local
ENGINE = Distributed(kubetrail, currentDatabase(), api_hours_local, sipHash64(actor, cluster, hour, user_agent, action));

CREATE TABLE IF NOT EXISTS token_hours_local ON CLUSTER kubetrail (
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
ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/{database}/token_hours_local', '{replica}')
PARTITION BY toYYYYMMDD(hour)
ORDER BY (cluster, hour, service_account, token_pod_name, token_pod_uid, source_ip)
SETTINGS allow_nullable_key = 1;;

CREATE TABLE IF NOT EXISTS token_hours ON CLUSTER kubetrail AS token_hours_local
ENGINE = Distributed(kubetrail, currentDatabase(), token_hours_local, sipHash64(cluster, hour, service_account, token_pod_name, token_pod_uid, source_ip));

CREATE TABLE IF NOT EXISTS rule_coverage_local ON CLUSTER kubetrail (
    rule_id String,
    `table` LowCardinality(String),
    digest String,
    definition String  -- JSON: the kinds and the condition, what the writers compile
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/rule_coverage_local', '{replica}')
ORDER BY rule_id;

CREATE TABLE IF NOT EXISTS rule_coverage ON CLUSTER kubetrail AS rule_coverage_local
ENGINE = Distributed(kubetrail, currentDatabase(), rule_coverage_local, sipHash64(rule_id));

CREATE TABLE IF NOT EXISTS api_calls_candidates_local ON CLUSTER kubetrail (
    `id` String CODEC(ZSTD(3)),
    `time` DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
    `source` LowCardinality(String),
    `kind` LowCardinality(String),
    `format` LowCardinality(Nullable(String)),
    `time_source` LowCardinality(Nullable(String)),
    `end_time` Nullable(DateTime64(9, 'UTC')) CODEC(Delta, ZSTD(1)),
    `summary` Nullable(String) CODEC(ZSTD(3)),
    `cluster` LowCardinality(String),
    `sensor_cluster` LowCardinality(Nullable(String)),
    `node` LowCardinality(Nullable(String)),
    `namespace` LowCardinality(Nullable(String)),
    `pod_name` Nullable(String),
    `pod_uid` Nullable(String),
    `container_id` Nullable(String),
    `container_name` LowCardinality(Nullable(String)),
    `image` LowCardinality(Nullable(String)),
    `workload_kind` LowCardinality(Nullable(String)),
    `workload_name` LowCardinality(Nullable(String)),
    `service_account` LowCardinality(Nullable(String)),
    `actor` LowCardinality(Nullable(String)),
    `actor_groups` Array(String),
    `impersonated_by` LowCardinality(Nullable(String)),
    `user_agent` Nullable(String) CODEC(ZSTD(3)),
    `source_ips` Array(String),
    `token_pod_name` Nullable(String),
    `token_pod_uid` Nullable(String),
    `token_node_name` Nullable(String),
    `credential_id` Nullable(String),
    `audit_id` Nullable(String),
    `audit_level` LowCardinality(Nullable(String)),
    `stage` LowCardinality(Nullable(String)),
    `stage_time` Nullable(DateTime64(9, 'UTC')) CODEC(Delta, ZSTD(1)),
    `verb` LowCardinality(Nullable(String)),
    `resource` LowCardinality(Nullable(String)),
    `subresource` LowCardinality(Nullable(String)),
    `api_group` LowCardinality(Nullable(String)),
    `object_name` Nullable(String),
    `request_uri` Nullable(String) CODEC(ZSTD(3)),
    `code` Nullable(Int32),
    `decision` LowCardinality(Nullable(String)),
    `reason` Nullable(String),
    `exec_command` Nullable(String),
    `exec_container` LowCardinality(Nullable(String)),
    `extra` Nullable(String) CODEC(ZSTD(3)),
    `file_id` Nullable(Int64),
    `line` Nullable(Int64),
    `byte_offset` Nullable(Int64),
    `content_hash` String CODEC(ZSTD(3)),
    INDEX id_bloom id TYPE bloom_filter(0.001) GRANULARITY 1
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/api_calls_candidates_local', '{replica}')
PARTITION BY toYYYYMMDD(time)
ORDER BY (time, id, content_hash)
SETTINGS enable_block_number_column = 1, enable_block_offset_column = 1;

CREATE TABLE IF NOT EXISTS api_calls_candidates ON CLUSTER kubetrail AS api_calls_candidates_local
ENGINE = Distributed(kubetrail, currentDatabase(), api_calls_candidates_local, sipHash64(time, id, content_hash));

CREATE TABLE IF NOT EXISTS processes_candidates_local ON CLUSTER kubetrail (
    `id` String CODEC(ZSTD(3)),
    `time` DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
    `source` LowCardinality(String),
    `kind` LowCardinality(String),
    `format` LowCardinality(Nullable(String)),
    `time_source` LowCardinality(Nullable(String)),
    `end_time` Nullable(DateTime64(9, 'UTC')) CODEC(Delta, ZSTD(1)),
    `summary` Nullable(String) CODEC(ZSTD(3)),
    `cluster` LowCardinality(String),
    `sensor_cluster` LowCardinality(Nullable(String)),
    `node` LowCardinality(Nullable(String)),
    `namespace` LowCardinality(Nullable(String)),
    `pod_name` Nullable(String),
    `pod_uid` Nullable(String),
    `container_id` Nullable(String),
    `container_name` LowCardinality(Nullable(String)),
    `image` LowCardinality(Nullable(String)),
    `workload_kind` LowCardinality(Nullable(String)),
    `workload_name` LowCardinality(Nullable(String)),
    `service_account` LowCardinality(Nullable(String)),
    `actor` LowCardinality(Nullable(String)),
    `binary` LowCardinality(Nullable(String)),
    `args` Nullable(String),
    `pid` Nullable(Int64),
    `parent_pid` Nullable(Int64),
    `parent_binary` LowCardinality(Nullable(String)),
    `parent_args` Nullable(String),
    `exec_id` Nullable(String),
    `parent_exec_id` Nullable(String),
    `process_uid` Nullable(Int64),
    `process_user` LowCardinality(Nullable(String)),
    `cwd` Nullable(String),
    `tty` Nullable(Bool),
    `file_path` Nullable(String),
    `rule` LowCardinality(Nullable(String)),
    `priority` LowCardinality(Nullable(String)),
    `sensor_source` LowCardinality(Nullable(String)),
    `tags` Array(String),
    `drop_count` Nullable(Int64),
    `extra` Nullable(String) CODEC(ZSTD(3)),
    `file_id` Nullable(Int64),
    `line` Nullable(Int64),
    `byte_offset` Nullable(Int64),
    `content_hash` String CODEC(ZSTD(3)),
    INDEX id_bloom id TYPE bloom_filter(0.001) GRANULARITY 1
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/processes_candidates_local', '{replica}')
PARTITION BY toYYYYMMDD(time)
ORDER BY (time, id, content_hash)
SETTINGS enable_block_number_column = 1, enable_block_offset_column = 1;

CREATE TABLE IF NOT EXISTS processes_candidates ON CLUSTER kubetrail AS processes_candidates_local
ENGINE = Distributed(kubetrail, currentDatabase(), processes_candidates_local, sipHash64(time, id, content_hash));

CREATE TABLE IF NOT EXISTS flows_candidates_local ON CLUSTER kubetrail (
    `id` String CODEC(ZSTD(3)),
    `time` DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
    `source` LowCardinality(String),
    `kind` LowCardinality(String),
    `format` LowCardinality(Nullable(String)),
    `time_source` LowCardinality(Nullable(String)),
    `end_time` Nullable(DateTime64(9, 'UTC')) CODEC(Delta, ZSTD(1)),
    `summary` Nullable(String) CODEC(ZSTD(3)),
    `cluster` LowCardinality(String),
    `sensor_cluster` LowCardinality(Nullable(String)),
    `node` LowCardinality(Nullable(String)),
    `namespace` LowCardinality(Nullable(String)),
    `pod_name` Nullable(String),
    `pod_uid` Nullable(String),
    `container_id` Nullable(String),
    `container_name` LowCardinality(Nullable(String)),
    `image` LowCardinality(Nullable(String)),
    `workload_kind` LowCardinality(Nullable(String)),
    `workload_name` LowCardinality(Nullable(String)),
    `service_account` LowCardinality(Nullable(String)),
    `actor` LowCardinality(Nullable(String)),
    `binary` LowCardinality(Nullable(String)),
    `args` Nullable(String),
    `pid` Nullable(Int64),
    `parent_pid` Nullable(Int64),
    `parent_binary` LowCardinality(Nullable(String)),
    `parent_args` Nullable(String),
    `exec_id` Nullable(String),
    `parent_exec_id` Nullable(String),
    `process_uid` Nullable(Int64),
    `process_user` LowCardinality(Nullable(String)),
    `cwd` Nullable(String),
    `tty` Nullable(Bool),
    `file_path` Nullable(String),
    `src_ip` Nullable(String),
    `src_port` Nullable(Int32),
    `dst_ip` Nullable(String),
    `dst_port` Nullable(Int32),
    `protocol` LowCardinality(Nullable(String)),
    `verdict` LowCardinality(Nullable(String)),
    `drop_reason` LowCardinality(Nullable(String)),
    `direction` LowCardinality(Nullable(String)),
    `is_reply` Nullable(Bool),
    `src_namespace` LowCardinality(Nullable(String)),
    `src_pod_name` Nullable(String),
    `src_labels` Array(String),
    `src_identity` Nullable(Int64),
    `src_workload` LowCardinality(Nullable(String)),
    `dst_namespace` LowCardinality(Nullable(String)),
    `dst_pod_name` Nullable(String),
    `dst_labels` Array(String),
    `dst_identity` Nullable(Int64),
    `dst_workload` LowCardinality(Nullable(String)),
    `dst_names` Array(String),
    `dst_service` LowCardinality(Nullable(String)),
    `dns_query` Nullable(String),
    `dns_ips` Array(String),
    `dns_rcode` Nullable(Int32),
    `dns_ttl` Nullable(Int64),
    `http_method` LowCardinality(Nullable(String)),
    `http_url` Nullable(String),
    `http_code` Nullable(Int32),
    `http_route` LowCardinality(Nullable(String)),
    `rule` LowCardinality(Nullable(String)),
    `priority` LowCardinality(Nullable(String)),
    `sensor_source` LowCardinality(Nullable(String)),
    `tags` Array(String),
    `drop_count` Nullable(Int64),
    `trace_id` Nullable(String),
    `span_id` Nullable(String),
    `parent_span_id` Nullable(String),
    `extra` Nullable(String) CODEC(ZSTD(3)),
    `file_id` Nullable(Int64),
    `line` Nullable(Int64),
    `byte_offset` Nullable(Int64),
    `content_hash` String CODEC(ZSTD(3)),
    INDEX id_bloom id TYPE bloom_filter(0.001) GRANULARITY 1
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/flows_candidates_local', '{replica}')
PARTITION BY toYYYYMMDD(time)
ORDER BY (time, id, content_hash)
SETTINGS enable_block_number_column = 1, enable_block_offset_column = 1;

CREATE TABLE IF NOT EXISTS flows_candidates ON CLUSTER kubetrail AS flows_candidates_local
ENGINE = Distributed(kubetrail, currentDatabase(), flows_candidates_local, sipHash64(time, id, content_hash));

CREATE TABLE IF NOT EXISTS runtime_alerts_candidates_local ON CLUSTER kubetrail (
    `id` String CODEC(ZSTD(3)),
    `time` DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
    `source` LowCardinality(String),
    `kind` LowCardinality(String),
    `format` LowCardinality(Nullable(String)),
    `time_source` LowCardinality(Nullable(String)),
    `end_time` Nullable(DateTime64(9, 'UTC')) CODEC(Delta, ZSTD(1)),
    `summary` Nullable(String) CODEC(ZSTD(3)),
    `cluster` LowCardinality(String),
    `sensor_cluster` LowCardinality(Nullable(String)),
    `node` LowCardinality(Nullable(String)),
    `namespace` LowCardinality(Nullable(String)),
    `pod_name` Nullable(String),
    `pod_uid` Nullable(String),
    `container_id` Nullable(String),
    `container_name` LowCardinality(Nullable(String)),
    `image` LowCardinality(Nullable(String)),
    `workload_kind` LowCardinality(Nullable(String)),
    `workload_name` LowCardinality(Nullable(String)),
    `service_account` LowCardinality(Nullable(String)),
    `actor` LowCardinality(Nullable(String)),
    `actor_groups` Array(String),
    `impersonated_by` LowCardinality(Nullable(String)),
    `user_agent` Nullable(String) CODEC(ZSTD(3)),
    `source_ips` Array(String),
    `token_pod_name` Nullable(String),
    `token_pod_uid` Nullable(String),
    `token_node_name` Nullable(String),
    `credential_id` Nullable(String),
    `audit_id` Nullable(String),
    `audit_level` LowCardinality(Nullable(String)),
    `stage` LowCardinality(Nullable(String)),
    `stage_time` Nullable(DateTime64(9, 'UTC')) CODEC(Delta, ZSTD(1)),
    `verb` LowCardinality(Nullable(String)),
    `resource` LowCardinality(Nullable(String)),
    `subresource` LowCardinality(Nullable(String)),
    `api_group` LowCardinality(Nullable(String)),
    `object_name` Nullable(String),
    `request_uri` Nullable(String) CODEC(ZSTD(3)),
    `code` Nullable(Int32),
    `decision` LowCardinality(Nullable(String)),
    `reason` Nullable(String),
    `exec_command` Nullable(String),
    `exec_container` LowCardinality(Nullable(String)),
    `binary` LowCardinality(Nullable(String)),
    `args` Nullable(String),
    `pid` Nullable(Int64),
    `parent_pid` Nullable(Int64),
    `parent_binary` LowCardinality(Nullable(String)),
    `parent_args` Nullable(String),
    `exec_id` Nullable(String),
    `parent_exec_id` Nullable(String),
    `process_uid` Nullable(Int64),
    `process_user` LowCardinality(Nullable(String)),
    `cwd` Nullable(String),
    `tty` Nullable(Bool),
    `file_path` Nullable(String),
    `src_ip` Nullable(String),
    `src_port` Nullable(Int32),
    `dst_ip` Nullable(String),
    `dst_port` Nullable(Int32),
    `protocol` LowCardinality(Nullable(String)),
    `verdict` LowCardinality(Nullable(String)),
    `drop_reason` LowCardinality(Nullable(String)),
    `direction` LowCardinality(Nullable(String)),
    `is_reply` Nullable(Bool),
    `src_namespace` LowCardinality(Nullable(String)),
    `src_pod_name` Nullable(String),
    `src_labels` Array(String),
    `src_identity` Nullable(Int64),
    `src_workload` LowCardinality(Nullable(String)),
    `dst_namespace` LowCardinality(Nullable(String)),
    `dst_pod_name` Nullable(String),
    `dst_labels` Array(String),
    `dst_identity` Nullable(Int64),
    `dst_workload` LowCardinality(Nullable(String)),
    `dst_names` Array(String),
    `dst_service` LowCardinality(Nullable(String)),
    `dns_query` Nullable(String),
    `dns_ips` Array(String),
    `dns_rcode` Nullable(Int32),
    `dns_ttl` Nullable(Int64),
    `http_method` LowCardinality(Nullable(String)),
    `http_url` Nullable(String),
    `http_code` Nullable(Int32),
    `http_route` LowCardinality(Nullable(String)),
    `rule` LowCardinality(Nullable(String)),
    `priority` LowCardinality(Nullable(String)),
    `sensor_source` LowCardinality(Nullable(String)),
    `tags` Array(String),
    `drop_count` Nullable(Int64),
    `extra` Nullable(String) CODEC(ZSTD(3)),
    `file_id` Nullable(Int64),
    `line` Nullable(Int64),
    `byte_offset` Nullable(Int64),
    `content_hash` String CODEC(ZSTD(3)),
    INDEX id_bloom id TYPE bloom_filter(0.001) GRANULARITY 1
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/runtime_alerts_candidates_local', '{replica}')
PARTITION BY toYYYYMMDD(time)
ORDER BY (time, id, content_hash)
SETTINGS enable_block_number_column = 1, enable_block_offset_column = 1;

CREATE TABLE IF NOT EXISTS runtime_alerts_candidates ON CLUSTER kubetrail AS runtime_alerts_candidates_local
ENGINE = Distributed(kubetrail, currentDatabase(), runtime_alerts_candidates_local, sipHash64(time, id, content_hash));

CREATE TABLE IF NOT EXISTS spans_candidates_local ON CLUSTER kubetrail (
    `id` String CODEC(ZSTD(3)),
    `time` DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
    `source` LowCardinality(String),
    `kind` LowCardinality(String),
    `format` LowCardinality(Nullable(String)),
    `time_source` LowCardinality(Nullable(String)),
    `end_time` Nullable(DateTime64(9, 'UTC')) CODEC(Delta, ZSTD(1)),
    `summary` Nullable(String) CODEC(ZSTD(3)),
    `cluster` LowCardinality(String),
    `sensor_cluster` LowCardinality(Nullable(String)),
    `node` LowCardinality(Nullable(String)),
    `namespace` LowCardinality(Nullable(String)),
    `pod_name` Nullable(String),
    `pod_uid` Nullable(String),
    `container_id` Nullable(String),
    `container_name` LowCardinality(Nullable(String)),
    `image` LowCardinality(Nullable(String)),
    `workload_kind` LowCardinality(Nullable(String)),
    `workload_name` LowCardinality(Nullable(String)),
    `service_account` LowCardinality(Nullable(String)),
    `actor` LowCardinality(Nullable(String)),
    `user_agent` Nullable(String) CODEC(ZSTD(3)),
    `src_ip` Nullable(String),
    `src_port` Nullable(Int32),
    `dst_ip` Nullable(String),
    `dst_port` Nullable(Int32),
    `protocol` LowCardinality(Nullable(String)),
    `verdict` LowCardinality(Nullable(String)),
    `drop_reason` LowCardinality(Nullable(String)),
    `direction` LowCardinality(Nullable(String)),
    `is_reply` Nullable(Bool),
    `src_namespace` LowCardinality(Nullable(String)),
    `src_pod_name` Nullable(String),
    `src_labels` Array(String),
    `src_identity` Nullable(Int64),
    `src_workload` LowCardinality(Nullable(String)),
    `dst_namespace` LowCardinality(Nullable(String)),
    `dst_pod_name` Nullable(String),
    `dst_labels` Array(String),
    `dst_identity` Nullable(Int64),
    `dst_workload` LowCardinality(Nullable(String)),
    `dst_names` Array(String),
    `dst_service` LowCardinality(Nullable(String)),
    `dns_query` Nullable(String),
    `dns_ips` Array(String),
    `dns_rcode` Nullable(Int32),
    `dns_ttl` Nullable(Int64),
    `http_method` LowCardinality(Nullable(String)),
    `http_url` Nullable(String),
    `http_code` Nullable(Int32),
    `http_route` LowCardinality(Nullable(String)),
    `priority` LowCardinality(Nullable(String)),
    `trace_id` Nullable(String),
    `span_id` Nullable(String),
    `parent_span_id` Nullable(String),
    `span_name` Nullable(String),
    `span_kind` LowCardinality(Nullable(String)),
    `service_name` LowCardinality(Nullable(String)),
    `enduser_id` Nullable(String),
    `status` LowCardinality(Nullable(String)),
    `extra` Nullable(String) CODEC(ZSTD(3)),
    `file_id` Nullable(Int64),
    `line` Nullable(Int64),
    `byte_offset` Nullable(Int64),
    `content_hash` String CODEC(ZSTD(3)),
    INDEX id_bloom id TYPE bloom_filter(0.001) GRANULARITY 1
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/spans_candidates_local', '{replica}')
PARTITION BY toYYYYMMDD(time)
ORDER BY (time, id, content_hash)
SETTINGS enable_block_number_column = 1, enable_block_offset_column = 1;

CREATE TABLE IF NOT EXISTS spans_candidates ON CLUSTER kubetrail AS spans_candidates_local
ENGINE = Distributed(kubetrail, currentDatabase(), spans_candidates_local, sipHash64(time, id, content_hash));

CREATE TABLE IF NOT EXISTS objects_candidates_local ON CLUSTER kubetrail (
    `id` String CODEC(ZSTD(3)),
    `time` DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
    `source` LowCardinality(String),
    `kind` LowCardinality(String),
    `format` LowCardinality(Nullable(String)),
    `time_source` LowCardinality(Nullable(String)),
    `end_time` Nullable(DateTime64(9, 'UTC')) CODEC(Delta, ZSTD(1)),
    `summary` Nullable(String) CODEC(ZSTD(3)),
    `cluster` LowCardinality(String),
    `sensor_cluster` LowCardinality(Nullable(String)),
    `node` LowCardinality(Nullable(String)),
    `namespace` LowCardinality(Nullable(String)),
    `pod_name` Nullable(String),
    `pod_uid` Nullable(String),
    `container_id` Nullable(String),
    `container_name` LowCardinality(Nullable(String)),
    `image` LowCardinality(Nullable(String)),
    `workload_kind` LowCardinality(Nullable(String)),
    `workload_name` LowCardinality(Nullable(String)),
    `service_account` LowCardinality(Nullable(String)),
    `actor` LowCardinality(Nullable(String)),
    `object_name` Nullable(String),
    `rule` LowCardinality(Nullable(String)),
    `priority` LowCardinality(Nullable(String)),
    `sensor_source` LowCardinality(Nullable(String)),
    `tags` Array(String),
    `drop_count` Nullable(Int64),
    `extra` Nullable(String) CODEC(ZSTD(3)),
    `file_id` Nullable(Int64),
    `line` Nullable(Int64),
    `byte_offset` Nullable(Int64),
    `content_hash` String CODEC(ZSTD(3)),
    INDEX id_bloom id TYPE bloom_filter(0.001) GRANULARITY 1
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/objects_candidates_local', '{replica}')
PARTITION BY toYYYYMMDD(time)
ORDER BY (time, id, content_hash)
SETTINGS enable_block_number_column = 1, enable_block_offset_column = 1;;

CREATE TABLE IF NOT EXISTS objects_candidates ON CLUSTER kubetrail AS objects_candidates_local
ENGINE = Distributed(kubetrail, currentDatabase(), objects_candidates_local, sipHash64(time, id, content_hash));

ALTER TABLE api_calls_local ON CLUSTER kubetrail MODIFY SETTING min_bytes_for_wide_part = 268435456, vertical_merge_algorithm_min_rows_to_activate = 8192;

ALTER TABLE processes_local ON CLUSTER kubetrail MODIFY SETTING min_bytes_for_wide_part = 268435456, vertical_merge_algorithm_min_rows_to_activate = 8192;

ALTER TABLE flows_local ON CLUSTER kubetrail MODIFY SETTING min_bytes_for_wide_part = 268435456, vertical_merge_algorithm_min_rows_to_activate = 8192;

ALTER TABLE runtime_alerts_local ON CLUSTER kubetrail MODIFY SETTING min_bytes_for_wide_part = 268435456, vertical_merge_algorithm_min_rows_to_activate = 8192;

ALTER TABLE spans_local ON CLUSTER kubetrail MODIFY SETTING min_bytes_for_wide_part = 268435456, vertical_merge_algorithm_min_rows_to_activate = 8192;

ALTER TABLE objects_local ON CLUSTER kubetrail MODIFY SETTING min_bytes_for_wide_part = 268435456, vertical_merge_algorithm_min_rows_to_activate = 8192;;

DROP TABLE IF EXISTS event_keys ON CLUSTER kubetrail SYNC;

DROP TABLE IF EXISTS event_keys_local ON CLUSTER kubetrail SYNC;

CREATE TABLE IF NOT EXISTS event_keys_local ON CLUSTER kubetrail (
    id_hash UInt64,  -- cityHash64(id)
    id String CODEC(ZSTD(3)),
    content_hash String CODEC(ZSTD(3)),
    time DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
    `table` LowCardinality(String)
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/event_keys_local', '{replica}')
ORDER BY (id_hash, id, content_hash);

CREATE TABLE IF NOT EXISTS event_keys ON CLUSTER kubetrail AS event_keys_local
ENGINE = Distributed(kubetrail, currentDatabase(), event_keys_local, sipHash64(id_hash, id, content_hash));

INSERT INTO event_keys SELECT cityHash64(id), id, content_hash, time, 'api_calls' FROM api_calls;

INSERT INTO event_keys SELECT cityHash64(id), id, content_hash, time, 'processes' FROM processes;

INSERT INTO event_keys SELECT cityHash64(id), id, content_hash, time, 'flows' FROM flows;

INSERT INTO event_keys SELECT cityHash64(id), id, content_hash, time, 'runtime_alerts' FROM runtime_alerts;

INSERT INTO event_keys SELECT cityHash64(id), id, content_hash, time, 'spans' FROM spans;

INSERT INTO event_keys SELECT cityHash64(id), id, content_hash, time, 'objects' FROM objects;;

INSERT INTO rule_coverage VALUES
('k8s-denied', 'api_calls', '7ac483c009487521', '{"kinds": ["api_call"], "condition": {"code": [401, 403]}}'),
('k8s-anonymous', 'api_calls', '9c3e6f1300a38835', '{"kinds": ["api_call"], "condition": {"actor": "system:anonymous"}}'),
('k8s-permission-enumeration', 'api_calls', 'f5b09c327a580ef8', '{"kinds": ["api_call"], "condition": {"resource": ["selfsubjectrulesreviews", "selfsubjectaccessreviews"]}}'),
('k8s-secrets-listed', 'api_calls', '7fee7ab27120052e', '{"kinds": ["api_call"], "condition": {"resource": "secrets", "verb": ["list", "watch"], "not": {"all": [{"actor": {"regex": "^system:(node:.+|kube-controller-manager|kube-scheduler|apiserver|serviceaccount:kube-system:[a-z-]+-controller)$"}}]}}}'),
('k8s-foreign-secret', 'api_calls', 'bcd4656b5f0299dd', '{"kinds": ["api_call"], "condition": {"resource": "secrets", "service_account": {"exists": true}, "all": [{"not": {"all": [{"actor": {"regex": "^system:(node:.+|kube-controller-manager|kube-scheduler|apiserver|serviceaccount:kube-system:[a-z-]+-controller)$"}}]}}, {"not": {"namespace": {"field": "service_account_namespace"}}}]}}'),
('k8s-pod-stream', 'api_calls', 'd6a60adf01b84c55', '{"kinds": ["api_call"], "condition": {"resource": "pods", "subresource": ["exec", "attach", "portforward"]}}'),
('k8s-token-creation', 'api_calls', '54a214cfe0b11e7c', '{"kinds": ["api_call"], "condition": {"verb": "create", "resource": "serviceaccounts", "subresource": "token", "not": {"all": [{"actor": {"regex": "^system:(node:.+|kube-controller-manager|kube-scheduler|apiserver|serviceaccount:kube-system:[a-z-]+-controller)$"}}]}}}'),
('k8s-csr', 'api_calls', 'e5de1cfc20a30c4c', '{"kinds": ["api_call"], "condition": {"verb": "create", "resource": "certificatesigningrequests", "not": {"all": [{"actor": {"regex": "^system:(node:.+|kube-controller-manager|kube-scheduler|apiserver|serviceaccount:kube-system:[a-z-]+-controller)$"}}]}}}'),
('k8s-rbac-write', 'api_calls', '8cdf4fdd116cf8ef', '{"kinds": ["api_call"], "condition": {"resource": ["roles", "rolebindings", "clusterroles", "clusterrolebindings"], "verb": ["create", "update", "patch", "delete", "deletecollection", "bind", "escalate"]}}'),
('k8s-pod-privileged', 'api_calls', '38529c4959e471d3', '{"kinds": ["api_call"], "condition": {"resource": "pods", "subresource": null, "verb": ["create", "update", "patch"], "not": {"all": [{"actor": {"regex": "^system:(node:.+|kube-controller-manager|kube-scheduler|apiserver|serviceaccount:kube-system:[a-z-]+-controller)$"}}]}, "extra.pod.privileged": {"exists": true}}}'),
('k8s-pod-hostpath', 'api_calls', '8ea0acb63afb54d7', '{"kinds": ["api_call"], "condition": {"resource": "pods", "subresource": null, "verb": ["create", "update", "patch"], "not": {"all": [{"actor": {"regex": "^system:(node:.+|kube-controller-manager|kube-scheduler|apiserver|serviceaccount:kube-system:[a-z-]+-controller)$"}}]}, "extra.pod.hostPath": {"exists": true}}}'),
('k8s-pod-hostnetwork', 'api_calls', 'b4ae9832a48aded3', '{"kinds": ["api_call"], "condition": {"resource": "pods", "subresource": null, "verb": ["create", "update", "patch"], "not": {"all": [{"actor": {"regex": "^system:(node:.+|kube-controller-manager|kube-scheduler|apiserver|serviceaccount:kube-system:[a-z-]+-controller)$"}}]}, "extra.pod.hostNetwork": {"exists": true}}}'),
('k8s-pod-hostpid', 'api_calls', 'b8366003030d68ab', '{"kinds": ["api_call"], "condition": {"resource": "pods", "subresource": null, "verb": ["create", "update", "patch"], "not": {"all": [{"actor": {"regex": "^system:(node:.+|kube-controller-manager|kube-scheduler|apiserver|serviceaccount:kube-system:[a-z-]+-controller)$"}}]}, "extra.pod.hostPID": {"exists": true}}}'),
('k8s-pod-hostipc', 'api_calls', '9ab41842bfa9307c', '{"kinds": ["api_call"], "condition": {"resource": "pods", "subresource": null, "verb": ["create", "update", "patch"], "not": {"all": [{"actor": {"regex": "^system:(node:.+|kube-controller-manager|kube-scheduler|apiserver|serviceaccount:kube-system:[a-z-]+-controller)$"}}]}, "extra.pod.hostIPC": {"exists": true}}}'),
('runtime-world-writable-exec', 'processes', 'f22539f2b36cde6b', '{"kinds": ["process_exec"], "condition": {"pod_name": {"exists": true}, "binary": {"wildcard": ["/tmp/*", "/dev/shm/*", "/var/tmp/*"]}}}'),
('runtime-download-piped-to-shell', 'processes', 'ee403e401ccdf5d6', '{"kinds": ["process_exec"], "condition": {"pod_name": {"exists": true}, "binary_name": ["sh", "bash", "dash", "ash", "zsh", "ksh", "busybox"], "args": {"regex": "\\\\b(curl|wget)\\\\b[^|;&]*\\\\|\\\\s*(\\\\S*/)?(sh|bash|dash|ash|zsh|ksh)\\\\b"}}}'),
('runtime-nsenter-host', 'processes', '32da1c7e534d7310', '{"kinds": ["process_exec"], "condition": {"pod_name": {"exists": true}, "binary_name": "nsenter", "args": {"regex": "(^|\\\\s)(-t\\\\s*1|--target[=\\\\s]1)(\\\\s|$)"}}}'),
('runtime-chroot-host', 'processes', '86711b169b7cd1e8', '{"kinds": ["process_exec"], "condition": {"pod_name": {"exists": true}, "binary_name": "chroot", "args": {"regex": "^/(host|node|rootfs)\\\\b"}}}'),
('runtime-mining-pool-port', 'flows', 'fda5435b74c9b35a', '{"kinds": ["network_flow"], "condition": {"pod_name": {"exists": true}, "dst_port": [3333, 4444, 5555, 7777, 14433, 14444, 45560, 45700], "not": {"is_reply": true}, "any": [{"direction": "EGRESS"}, {"direction": null}]}}');

INSERT INTO meta VALUES ('schema_version', '7', now64(9));
