-- Store totals.
SELECT
    (SELECT count(*) FROM events WHERE $cluster IS NULL OR cluster = $cluster) AS events,
    (SELECT count(*) FROM quarantine) AS quarantined,
    (SELECT count(*) FROM files) AS files
