-- What DNS answers of a batch said of addresses: per (cluster, address, name), the first answer
-- (DuckDB's 0011 dns_answers_of), and the event that gave it.
INSERT INTO dns_answers (cluster, ip, name, first, first_id)
SELECT d_cluster, d_ip, d_name, min(d_time), argMin(d_id, (d_time, d_id))
FROM (
    SELECT assumeNotNull(b.cluster) AS d_cluster, arrayJoin(b.dns_ips) AS d_ip,
        trimRight(assumeNotNull(b.dns_query), '.') AS d_name, assumeNotNull(b.time) AS d_time, assumeNotNull(b.id) AS d_id
    FROM {batch} AS b
    WHERE b.kind = 'dns' AND b.dns_query IS NOT NULL
)
GROUP BY d_cluster, d_ip, d_name;
