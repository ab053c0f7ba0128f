-- Names that DNS answers gave for addresses, up to a time (the dns_answers table, migration 0003,
-- as DuckDB's 0011): (cluster, ip, name, first answer). The first of all answers is before
-- {until} exactly when some answer is, so the table's merged first is the one up to {until}.
-- {until}: ns; {cluster}: filter or NULL.
SELECT d.cluster AS cluster, d.ip AS ip, d.name AS name, toUnixTimestamp64Nano(min(d.first)) AS first
FROM dns_answers AS d
WHERE {cluster:Nullable(String)} IS NULL OR d.cluster = {cluster:Nullable(String)}
GROUP BY d.cluster, d.ip, d.name
HAVING min(d.first) < fromUnixTimestamp64Nano({until:Int64})
ORDER BY cluster, ip, first, name
