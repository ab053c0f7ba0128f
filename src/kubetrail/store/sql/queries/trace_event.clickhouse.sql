-- The events traces start from, with the columns a trace reads. {ids}: the event ids.
SELECT e.id AS id, e.cluster AS cluster, e.source AS source, e.kind AS kind, toUnixTimestamp64Nano(e.time) AS time,
    e.summary AS summary, e.actor AS actor, e.impersonated_by AS impersonated_by, e.namespace AS namespace,
    e.pod_name AS pod_name, e.container_name AS container_name, e.binary AS binary, e.exec_id AS exec_id,
    e.parent_exec_id AS parent_exec_id, e.trace_id AS trace_id, e.span_id AS span_id
FROM events AS e
WHERE e.id IN {ids:Array(String)}
