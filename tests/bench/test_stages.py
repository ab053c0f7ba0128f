"""bench.stages: where an ingested event's time goes, stage by stage."""

from __future__ import annotations

from pathlib import Path

import duckdb
from bench.stages import STAGES, breakdown, table

from kubetrail.ingest import pipeline
from kubetrail.simulate.audit import write_audit_log
from kubetrail.simulate.cluster import build_cluster

START_NS = 1_764_324_000 * 10**9


def test_every_stage_of_an_audit_ingest_is_timed_and_the_events_stored(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    write_audit_log(log, cluster=build_cluster(3, START_NS, 1.0), events=2_000, seed=3)
    before = {name: getattr(pipeline, name) for name in ("detect", "redact", "_raw", "to_arrow", "records_of")}

    got = breakdown([log], tmp_path / "s.duckdb")

    assert got.records == got.events == 2_000
    assert got.untimed > 0
    con = duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM events").fetchall() == [(2_000,)]
    con.close()
    untimed = [s for s in STAGES if got.seconds[s] <= 0]
    assert not untimed, f"stages with no time: {untimed}"
    assert any(k.startswith("side table ") for k in got.seconds)
    # The pipeline's own functions are back once it is done.
    assert {name: getattr(pipeline, name) for name in before} == before
    rows = table({"audit": got}, 0.0)
    assert any(row.startswith("| normalize | ") for row in rows)
    assert any(row.startswith("| decode to columns (normalize_chunk), timed and with no timers | ") for row in rows)
