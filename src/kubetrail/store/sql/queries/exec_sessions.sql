-- kubectl exec / attach / port-forward sessions into pods that may cover time ranges, for many
-- asks at once: ask i is the sessions into pod $namespaces[i]/$pods[i] of cluster $clusters[i]
-- with a stage in [$froms[i], $untils[i]) ns, named $asks[i] in the rows. One row per ask and
-- request (its stages merged): start = request received, end = the ResponseComplete stage time
-- when the log has it. Read from the stages ingest keeps (migration 0004).
WITH asked AS (
    SELECT unnest($asks::VARCHAR[]) AS ask, unnest($clusters::VARCHAR[]) AS cluster,
        unnest($namespaces::VARCHAR[]) AS namespace, unnest($pods::VARCHAR[]) AS pod_name,
        unnest($froms::BIGINT[]) AS t0, unnest($untils::BIGINT[]) AS t1
)
SELECT a.ask, s.cluster, s.namespace, s.pod_name, s.subresource,
    any_value(s.actor) AS actor, any_value(s.impersonated_by) AS impersonated_by,
    any_value(s.exec_command) AS command, any_value(s.exec_container) AS container,
    epoch_ns(min(s."time")) AS "start",
    epoch_ns(max(s.end_time) FILTER (s.stage = 'ResponseComplete')) AS "end",
    arg_min(s.id, s.stage_time) AS first_id, arg_min(s.summary, s.stage_time) AS summary, max(s.code) AS code
FROM asked a
JOIN exec_stages s ON s.cluster = a.cluster AND s.namespace = a.namespace AND s.pod_name = a.pod_name
    AND s."time" >= make_timestamp_ns(a.t0) AND s."time" < make_timestamp_ns(a.t1)
GROUP BY a.ask, s.cluster, s.namespace, s.pod_name, s.subresource, coalesce(s.audit_id, s.id)
HAVING max(s.code) < 400
ORDER BY a.ask, "start", first_id
