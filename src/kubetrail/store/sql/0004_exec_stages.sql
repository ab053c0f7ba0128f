-- 0004: the stages of kubectl exec / attach / port-forward requests, kept at ingest beside the
-- events (a few rows in a million), so that tying a process to the session that started it reads
-- them instead of scanning a day of events per question (`exec_sessions` query). Every batch of
-- new events adds its stages; existing events are backfilled here.
CREATE MACRO exec_stages_of(batch) AS TABLE
SELECT id, cluster, namespace, pod_name, subresource, actor, impersonated_by, exec_command, exec_container, audit_id,
    "time", end_time, stage, stage_time, summary, code
FROM query_table(batch)
WHERE source = 'k8s_audit' AND resource = 'pods' AND subresource IN ('exec', 'attach', 'portforward');

CREATE TABLE exec_stages AS SELECT * FROM exec_stages_of('events');
