-- The rows of process_hours (0004) of a batch's events: process starts and runtime alerts in
-- containers, per (cluster, pod, container, binary, hour), as DuckDB's process_hours_of (0010).
INSERT INTO process_hours
SELECT assumeNotNull(cluster), namespace, assumeNotNull(pod_name), coalesce(container_name, container_id),
    assumeNotNull(`binary`), toStartOfHour(assumeNotNull(time)) AS _hour,
    min(pod_uid), min(if(kind = 'process_exec', node, NULL)), min(node), min(image), min(workload_name),
    argMaxState(args, assumeNotNull(time)),
    uniqExactState(if(kind = 'process_exec', toNullable(assumeNotNull(id)), NULL)),
    groupUniqArrayIf(concat(assumeNotNull(rule), ' (', ifNull(priority, '?'), ')'), kind = 'runtime_alert' AND rule IS NOT NULL),
    min(assumeNotNull(time)), max(assumeNotNull(time)),
    uniqExactState(assumeNotNull(id)),
    argMaxState(if(kind = 'process_exec', toNullable(assumeNotNull(id)), NULL), assumeNotNull(time)),
    min(if(kind = 'process_exec', toNullable(assumeNotNull(time)), NULL)),
    max(if(kind = 'process_exec', toNullable(assumeNotNull(time)), NULL)),
    groupArraySorted(20)((CAST(kind <> 'runtime_alert' AS Bool), -toUnixTimestamp64Nano(assumeNotNull(time)), assumeNotNull(id)))
FROM {batch}
WHERE kind IN ('process_exec', 'runtime_alert') AND `binary` IS NOT NULL AND pod_name IS NOT NULL
GROUP BY cluster, namespace, pod_name, coalesce(container_name, container_id), `binary`, _hour;
