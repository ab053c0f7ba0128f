-- Runtime alerts (Falco rules, Tetragon policies) in pods in a window, of the (pod, rule)
-- pairs asked for: {keys} lists 'cluster|namespace|pod|rule' ('' for no rule; a NULL namespace
-- left out, as DuckDB's concat_ws does). {since}/{until}: ns; {cluster}: filter or NULL.
-- (Aliases named after columns are given in the outer SELECT only: ClickHouse resolves a name to
-- an alias of the same SELECT before a column.)
SELECT _id AS id, _cluster AS cluster, _source AS source, _kind AS kind, toUnixTimestamp64Nano(_time) AS time,
    _namespace AS namespace, _pod_name AS pod_name, _rule AS rule, _priority AS priority, _tags AS tags, _summary AS summary
FROM (
    SELECT id AS _id, cluster AS _cluster, source AS _source, kind AS _kind, time AS _time, namespace AS _namespace,
        pod_name AS _pod_name, rule AS _rule, priority AS _priority, tags AS _tags, summary AS _summary
    FROM runtime_alerts FINAL
    WHERE kind = 'runtime_alert' AND pod_name IS NOT NULL
        AND time >= fromUnixTimestamp64Nano({since:Int64}) AND time < fromUnixTimestamp64Nano({until:Int64})
        AND ({cluster:Nullable(String)} IS NULL OR cluster = {cluster:Nullable(String)})
        AND concat(cluster, ifNull(concat('|', namespace), ''), '|', pod_name, '|', ifNull(rule, '')) IN {keys:Array(String)}
)
ORDER BY _time, _id
