-- 0014: what `kubetrail serve` told of each incident, and what it has still to tell.
-- `alert_incidents` holds each incident's state as last told (its severity, active or gone quiet,
-- its latest row of `incidents -o json`), so that a restart does not page again; the notices
-- to send go into `alert_outbox` in the same transaction, and leave it (sent_at set) once their
-- output has taken them, so that a restart sends what was not delivered.
CREATE TABLE alert_incidents (
    id VARCHAR PRIMARY KEY,
    severity VARCHAR NOT NULL,
    active BOOLEAN NOT NULL,
    told_at BIGINT NOT NULL,     -- wall clock, ns: first told
    changed_at BIGINT NOT NULL,  -- wall clock, ns: a new signal or an escalation last seen
    start_ns BIGINT NOT NULL,    -- its first signal
    end_ns BIGINT NOT NULL,      -- its latest signal
    steps INTEGER NOT NULL,
    row_json VARCHAR NOT NULL
);
CREATE SEQUENCE alert_seq;
CREATE TABLE alert_outbox (
    seq BIGINT PRIMARY KEY DEFAULT nextval('alert_seq'),
    output VARCHAR NOT NULL,
    notice VARCHAR NOT NULL,     -- JSON: kind, severity, starts_at, previous, ends_at, link, incident
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);
