-- Names that DNS answers gave for addresses, up to a time: (cluster, ip, name, first answer).
SELECT cluster, ip, rtrim(dns_query, '.') AS name, epoch_ns(min("time")) AS first
FROM (SELECT cluster, "time", dns_query, unnest(dns_ips) AS ip FROM events
      WHERE kind = 'dns' AND dns_ips IS NOT NULL AND dns_query IS NOT NULL AND "time" < make_timestamp_ns($until)
          AND ($cluster IS NULL OR cluster = $cluster))
GROUP BY ALL
