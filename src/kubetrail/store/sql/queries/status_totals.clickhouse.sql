-- Store totals.
SELECT
    (SELECT count() FROM events WHERE {cluster:Nullable(String)} IS NULL OR cluster = {cluster:Nullable(String)}) AS events,
    (SELECT count() FROM quarantine FINAL) AS quarantined,
    (SELECT count() FROM files FINAL) AS files
