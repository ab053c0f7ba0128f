-- Names that DNS answers gave for addresses, up to a time (DuckDB's dns_answers table, 0011, as
-- its macro computes it): (cluster, ip, name, first answer). {until}: ns; {cluster}: filter or NULL.
SELECT _cluster AS cluster, _ip AS ip, _name AS name, toUnixTimestamp64Nano(min(_time)) AS first
FROM (
    SELECT cluster AS _cluster, arrayJoin(dns_ips) AS _ip, trimRight(assumeNotNull(dns_query), '.') AS _name, time AS _time
    FROM flows FINAL
    WHERE kind = 'dns' AND dns_query IS NOT NULL
        AND time < fromUnixTimestamp64Nano({until:Int64})
        AND ({cluster:Nullable(String)} IS NULL OR cluster = {cluster:Nullable(String)})
)
GROUP BY _cluster, _ip, _name
ORDER BY cluster, ip, first, name
