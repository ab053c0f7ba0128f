-- Names that DNS answers gave for addresses, up to a time (the dns_answers table, 0011):
-- (cluster, ip, name, first answer). $until: ns; $cluster: filter or NULL.
SELECT cluster, ip, name, epoch_ns(min(first)) AS first
FROM dns_answers
WHERE first < make_timestamp_ns($until) AND ($cluster IS NULL OR cluster = $cluster)
GROUP BY ALL
