-- Pods' steady rhythms to destinations (a beacon, a scheduled transfer), judged per destination
-- name: {clusters}/{ips}/{destinations} (lists of one length) say which destination each address
-- of a cluster stands for (an address answered for two names stands for both; one no name
-- stands for is its own). Per (cluster, pod, destination, port), the connections opened in the
-- window (as DuckDB's opened_connections view counts them, 0008; both sensors), flows closer than
-- {burst} ns to the previous one counted as the same connection (Hubble reports several flows per
-- connection, Tetragon the same one again), kept when there are at least {min_connections} spread
-- over at least {min_span} ns with gaps whose standard deviation is at most {max_cv} times their
-- mean. {since}/{until}: ns; {cluster}: filter or NULL.
WITH named AS (
    SELECT _n.1 AS _cluster, _n.2 AS _dst_ip, _n.3 AS _destination
    FROM (SELECT arrayJoin(arrayZip({clusters:Array(String)}, {ips:Array(String)}, {destinations:Array(String)})) AS _n)
), opened AS (
    SELECT o._id AS _id, o._cluster AS _cluster, o._source AS _source, o._kind AS _kind, o._t AS _t,
        o._dst_ip AS _dst_ip, o._port AS _port, o._namespace AS _namespace, o._pod_name AS _pod_name,
        n._destination AS _destination
    FROM (
        SELECT id AS _id, cluster AS _cluster, source AS _source, kind AS _kind, toUnixTimestamp64Nano(time) AS _t,
            dst_ip AS _dst_ip, dst_port AS _port,
            coalesce(src_namespace, namespace) AS _namespace, coalesce(src_pod_name, pod_name) AS _pod_name
        FROM flows FINAL
        WHERE kind IN ('network_flow', 'http') AND dst_ip IS NOT NULL
            AND ((source = 'hubble' AND src_pod_name IS NOT NULL AND NOT coalesce(is_reply, false)
                  AND coalesce(direction, 'EGRESS') = 'EGRESS')
              OR (source = 'tetragon' AND pod_name IS NOT NULL AND direction = 'EGRESS'))
            AND time >= fromUnixTimestamp64Nano({since:Int64}) AND time < fromUnixTimestamp64Nano({until:Int64})
            AND ({cluster:Nullable(String)} IS NULL OR cluster = {cluster:Nullable(String)})
            AND dst_ip IN {ips:Array(String)}
    ) o
    INNER JOIN named n ON o._cluster = n._cluster AND o._dst_ip = n._dst_ip
), stepped AS (
    SELECT *, if(row_number() OVER w = 1, NULL, _t - lagInFrame(_t) OVER w) AS _gap
    FROM opened
    WINDOW w AS (PARTITION BY _cluster, _namespace, _pod_name, _destination, _port ORDER BY _t, _id
                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
), connections AS (
    SELECT *, if(row_number() OVER w = 1, NULL, _t - lagInFrame(_t) OVER w) AS _every
    FROM stepped
    WHERE _gap IS NULL OR _gap >= {burst:Int64}
    WINDOW w AS (PARTITION BY _cluster, _namespace, _pod_name, _destination, _port ORDER BY _t, _id
                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
)
SELECT _cluster AS cluster, _namespace AS namespace, _pod_name AS pod_name, _destination AS destination, _port AS port,
    count() AS connections, min(_t) AS first, max(_t) AS last,
    sum(_every) / count(_every) AS mean_gap, arraySort(groupUniqArray(_dst_ip)) AS ips,
    argMin(_id, (_t, _id)) AS first_id, argMin(_source, (_t, _id)) AS source, argMin(_kind, (_t, _id)) AS kind
FROM connections
GROUP BY _cluster, _namespace, _pod_name, _destination, _port
HAVING count() >= {min_connections:Int64} AND max(_t) - min(_t) >= {min_span:Int64}
    AND stddevSamp(_every) <= {max_cv:Float64} * avg(_every)
ORDER BY first, _cluster, _namespace, _pod_name, _destination, _port
