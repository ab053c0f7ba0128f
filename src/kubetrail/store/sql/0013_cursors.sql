-- 0013: where a live input stands. `kubetrail serve` drains its spool of received request bodies
-- into the store and records the spool position it reached in the same transaction as the
-- events (name 'spool'); `ingest --follow` does the same per followed file (name 'follow:PATH',
-- with the file's identity in `state`). After a crash, each resumes exactly where its last
-- committed write stopped: nothing acknowledged lost, nothing stored twice.
CREATE TABLE cursors (
    name VARCHAR PRIMARY KEY,
    position BIGINT NOT NULL,
    state VARCHAR,
    updated_at TIMESTAMP_NS NOT NULL
);
