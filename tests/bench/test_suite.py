"""The benchmark suite at a tiny size: every measurement runs, the table has a row for each, and
the raw-file baselines (jq, DuckDB) answer the same questions as kubetrail with the same answer
sets. Nothing is recorded; no wall time is asserted."""

from __future__ import annotations

from dataclasses import replace

import pytest
from bench.suite import DUCKDB, JQ_AUDIT, JQ_FLOWS, Baseline, Config, Result, run

from bench import baselines, tables

TINY = Config(1000, repeat=1, cold=1, raw_repeat=1, samples=2, batch=500)


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> Result:
    return run(replace(TINY, data=tmp_path_factory.mktemp("bench-data")))


def baseline(result: Result, what: str) -> Baseline:
    return next(b for b in result.baselines if b.what == what)


def test_duckdb_over_the_raw_audit_log_finds_the_same_secret_readers(result: Result) -> None:
    b = baseline(result, DUCKDB)
    assert b.answer == b.kubetrail and b.answer, "DuckDB read_json and kubetrail must name the same actors"


@pytest.mark.skipif(baselines.jq_path() is None, reason="jq is not on PATH: the jq baselines cannot run (apt-get install jq)")
@pytest.mark.parametrize("what", [JQ_AUDIT, JQ_FLOWS])
def test_jq_over_the_raw_files_gives_kubetrails_answer_set(result: Result, what: str) -> None:
    b = baseline(result, what)
    assert b.answer == b.kubetrail and b.answer, f"{what} and kubetrail's {b.question} must give the same set"


def test_every_measurement_has_a_row_in_the_size_table(result: Result) -> None:
    text = "\n".join(tables.lines(result))
    sources = {f.source for f in result.ingest.files}
    assert {"k8s_audit", "hubble", "tetragon", "falco", "otel"} <= sources and "unknown" not in sources
    for what in ("ingest, every source", "store size", "correlation: incidents", "incremental: ", "cold CLI", "pays for itself"):
        assert what in text
    for name in ("ask secrets", "ask actor", "ask egress", "ask processes", "ask trace", "timeline", "who", "incidents"):
        assert f"| {name}" in text
    assert "DIFFERENT" not in text
    assert result.incremental.events > 0 and result.correlation.incidents > 0
