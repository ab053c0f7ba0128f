-- 0010: hourly rollups, kept at ingest beside the events. Baselines (a week before a window) and
-- day-long windows read them instead of scanning millions of events: at 1M simulated events the
-- 127k process events roll up into 382 rows, the 195k connections into 2,851, the 350k API calls
-- into 698 (and 6,000 rows of where bound tokens were used from). Every batch of new events adds its own rows (rows of one key and hour from several
-- batches are merged when read); existing events are backfilled here.
--
-- Each `*_of(batch, since, until)` macro computes the rollup rows of the events of `batch` (a
-- table or view with the events table's columns) in [since, until) ns, NULL for no bound. A
-- query covers the whole hours of its window from the rollup table and its partial hours with
-- the macro over `events`: `*_in(since, until)` returns both. `hour` is the hour's start in ns.
-- Evidence is kept as the 20 most relevant (`ev`) of each group, to be merged in order.

-- The whole hours of [since, until) are [hour_lo, hour_hi); when there are none, both are `until`
-- (the macro over events covers the window alone).
CREATE MACRO hour_lo(since, until) AS
    CASE WHEN (since + 3599999999999) // 3600000000000 < until // 3600000000000
         THEN (since + 3599999999999) // 3600000000000 * 3600000000000 ELSE until END;
CREATE MACRO hour_hi(since, until) AS
    CASE WHEN (since + 3599999999999) // 3600000000000 < until // 3600000000000
         THEN until // 3600000000000 * 3600000000000 ELSE until END;

-- The hour a time falls in (its start, ns), and whether a time lies in [since, until) ns (NULL:
-- no bound), for the `*_of` macros.
CREATE MACRO hour_of(t) AS epoch_ns(t) // 3600000000000 * 3600000000000;
CREATE MACRO in_span(t, since, until) AS
    (since IS NULL OR t >= make_timestamp_ns(since)) AND (until IS NULL OR t < make_timestamp_ns(until));

-- The connections pods opened, as every egress question counts them (0008), over any batch.
CREATE MACRO opened_connections_of(batch) AS TABLE
SELECT id, cluster, source, kind, "time", dst_ip, dst_port, coalesce(protocol, 'unknown') AS protocol, verdict,
    dst_names, dst_labels, src_ip, src_workload,
    coalesce(src_namespace, namespace) AS namespace, coalesce(src_pod_name, pod_name) AS pod_name
FROM query_table(batch)
WHERE kind IN ('network_flow', 'http', 'dns') AND dst_ip IS NOT NULL
    AND ((source = 'hubble' AND src_pod_name IS NOT NULL AND NOT coalesce(is_reply, false)
          AND coalesce(direction, 'EGRESS') = 'EGRESS')
      OR (source = 'tetragon' AND pod_name IS NOT NULL AND direction = 'EGRESS'));

CREATE OR REPLACE VIEW opened_connections AS SELECT * FROM opened_connections_of('events');

-- Processes started in containers and the runtime alerts about processes, per (cluster, pod,
-- container, binary, hour). Evidence: alerts first, then the newest.
CREATE MACRO process_hours_of(batch, since, until) AS TABLE
SELECT cluster, namespace, pod_name, coalesce(container_name, container_id) AS container, "binary",
    hour_of("time") AS hour,
    any_value(pod_uid) AS pod_uid, any_value(node) FILTER (kind = 'process_exec') AS exec_node, any_value(node) AS node,
    any_value(image) AS image, any_value(workload_name) AS workload_name, arg_max(args, "time") AS args,
    count(*) FILTER (kind = 'process_exec') AS execs,
    list(DISTINCT rule || ' (' || coalesce(priority, '?') || ')') FILTER (kind = 'runtime_alert' AND rule IS NOT NULL) AS rules,
    epoch_ns(min("time")) AS first, epoch_ns(max("time")) AS last, count(*) AS events,
    arg_max(id, "time") FILTER (kind = 'process_exec') AS latest_exec,
    epoch_ns(min("time") FILTER (kind = 'process_exec')) AS first_exec,
    epoch_ns(max("time") FILTER (kind = 'process_exec')) AS latest_exec_time,
    min({alert: kind <> 'runtime_alert', t: -epoch_ns("time"), id: id}, 20) AS ev
FROM query_table(batch)
WHERE kind IN ('process_exec', 'runtime_alert') AND "binary" IS NOT NULL AND pod_name IS NOT NULL
    AND in_span("time", since, until)
GROUP BY cluster, namespace, pod_name, coalesce(container_name, container_id), "binary", hour;

CREATE TABLE process_hours AS SELECT * FROM process_hours_of('events', NULL, NULL);

CREATE MACRO process_hours_in(since, until) AS TABLE
SELECT * FROM process_hours WHERE hour >= hour_lo(since, until) AND hour < hour_hi(since, until)
UNION ALL SELECT * FROM process_hours_of('events', since, hour_lo(since, until))
UNION ALL SELECT * FROM process_hours_of('events', hour_hi(since, until), until);

-- Connections opened, per (cluster, pod, destination, port, protocol, hour). Evidence: the newest.
CREATE MACRO egress_hours_of(batch, since, until) AS TABLE
SELECT cluster, namespace, pod_name, dst_ip, dst_port AS port, protocol,
    hour_of("time") AS hour,
    any_value(src_workload) AS workload, any_value(src_ip) AS src_ip,
    list(DISTINCT verdict) FILTER (verdict IS NOT NULL) AS verdicts,
    list_distinct(flatten(list(dst_names) FILTER (dst_names IS NOT NULL))) AS names,
    bool_or(coalesce(list_contains(dst_labels, 'reserved:kube-apiserver'), false)) AS apiserver,
    count(*) AS flows, epoch_ns(min("time")) AS first, epoch_ns(max("time")) AS last,
    min({t: -epoch_ns("time"), id: id}, 20) AS ev
FROM opened_connections_of(batch)
WHERE in_span("time", since, until)
GROUP BY cluster, namespace, pod_name, dst_ip, dst_port, protocol, hour;

CREATE TABLE egress_hours AS SELECT * FROM egress_hours_of('events', NULL, NULL);

CREATE MACRO egress_hours_in(since, until) AS TABLE
SELECT * FROM egress_hours WHERE hour >= hour_lo(since, until) AND hour < hour_hi(since, until)
UNION ALL SELECT * FROM egress_hours_of('events', since, hour_lo(since, until))
UNION ALL SELECT * FROM egress_hours_of('events', hour_hi(since, until), until);

-- Runtime alerts in pods, per (cluster, pod, rule, priority, hour); '' for an alert without a rule.
CREATE MACRO alert_hours_of(batch, since, until) AS TABLE
SELECT cluster, namespace, pod_name, coalesce(rule, '') AS rule, priority,
    hour_of("time") AS hour, count(*) AS alerts
FROM query_table(batch)
WHERE kind = 'runtime_alert' AND pod_name IS NOT NULL
    AND in_span("time", since, until)
GROUP BY ALL;

CREATE TABLE alert_hours AS SELECT * FROM alert_hours_of('events', NULL, NULL);

CREATE MACRO alert_hours_in(since, until) AS TABLE
SELECT * FROM alert_hours WHERE hour >= hour_lo(since, until) AND hour < hour_hi(since, until)
UNION ALL SELECT * FROM alert_hours_of('events', since, hour_lo(since, until))
UNION ALL SELECT * FROM alert_hours_of('events', hour_hi(since, until), until);

-- API-call stages, per (cluster, actor, user agent, action, hour): what an account normally does.
CREATE MACRO api_hours_of(batch, since, until) AS TABLE
SELECT cluster, actor, user_agent, verb || ' ' || resource || coalesce('/' || subresource, '') AS action,
    hour_of("time") AS hour,
    count(*) AS stages, epoch_ns(min("time")) AS first, epoch_ns(max("time")) AS last
FROM query_table(batch)
WHERE source = 'k8s_audit' AND actor IS NOT NULL
    AND in_span("time", since, until)
GROUP BY ALL;

CREATE TABLE api_hours AS SELECT * FROM api_hours_of('events', NULL, NULL);

CREATE MACRO api_hours_in(since, until) AS TABLE
SELECT * FROM api_hours WHERE hour >= hour_lo(since, until) AND hour < hour_hi(since, until)
UNION ALL SELECT * FROM api_hours_of('events', since, hour_lo(since, until))
UNION ALL SELECT * FROM api_hours_of('events', hour_hi(since, until), until);

-- Where each pod's bound token was used from, per (cluster, account, pod, source IP, hour), with
-- the first call.
CREATE MACRO token_hours_of(batch, since, until) AS TABLE
SELECT cluster, service_account, token_pod_name, token_pod_uid, source_ips[1] AS source_ip,
    hour_of("time") AS hour,
    any_value(actor) AS actor, epoch_ns(min("time")) AS first, arg_min(id, "time") AS id,
    arg_min(summary, "time") AS summary, count(*) AS calls
FROM query_table(batch)
WHERE source = 'k8s_audit' AND token_pod_name IS NOT NULL AND service_account IS NOT NULL AND source_ips[1] IS NOT NULL
    AND in_span("time", since, until)
GROUP BY cluster, service_account, token_pod_name, token_pod_uid, source_ips[1], hour;

CREATE TABLE token_hours AS SELECT * FROM token_hours_of('events', NULL, NULL);

CREATE MACRO token_hours_in(since, until) AS TABLE
SELECT * FROM token_hours WHERE hour >= hour_lo(since, until) AND hour < hour_hi(since, until)
UNION ALL SELECT * FROM token_hours_of('events', since, hour_lo(since, until))
UNION ALL SELECT * FROM token_hours_of('events', hour_hi(since, until), until);
