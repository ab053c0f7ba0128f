"""The alert engine on a real store as a story's events arrive: one notice per incident and per
escalation, delivered through a real output to a real HTTP endpoint (Alertmanager, a webhook),
retried until taken, never told twice across a restart."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubetrail.alerts import AlertSettings, OutputConfig
from kubetrail.alerts.engine import Engine
from kubetrail.alerts.outputs import build
from kubetrail.alerts.state import Told
from kubetrail.correlate.incidents import LINK_NS
from kubetrail.ingest.pipeline import Options, ingest
from kubetrail.store.duckdb import DuckDBStore
from kubetrail.timeutil import NS
from tests.alerts.conftest import Alertmanager, Recorder, eventually
from tests.conftest import FIXTURES

STORIES = FIXTURES / "stories"
# A person's exec into a pod that then runs a miner: Tetragon's events alone are a high incident;
# Falco's alert comes before them (the incident's id would change: it derives from the earliest
# signal); the audit log ties alice to it across sources, which makes it critical.
TETRAGON = [STORIES / "processes" / "tetragon-baseline.jsonl", STORIES / "exec-session" / "tetragon.jsonl"]
FALCO = [STORIES / "exec-session" / "falco.json"]
AUDIT = [STORIES / "exec-session" / "audit.log"]
QUIET = 900


class Clock:
    def __init__(self) -> None:
        self.now = time.time_ns()

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DuckDBStore]:
    s = DuckDBStore(tmp_path / "a.duckdb")
    yield s
    s.close()


def add(store: DuckDBStore, paths: list[Path]) -> None:
    ingest(store, [str(p) for p in paths], Options(workers=1))


def webhook(tmp_path: Path, url: str) -> OutputConfig:
    key = tmp_path / "hook.key"
    key.write_text("k3y\n")
    return OutputConfig("webhook", "hook", url=url, secret_file=str(key), min_severity="medium", timeout_seconds=2.0)


def started(store: DuckDBStore, *configs: OutputConfig, clock: Clock | None = None, **settings: Any) -> Engine:
    engine = Engine(store, AlertSettings(eval_seconds=0.05, quiet_seconds=QUIET, **settings), [build(c) for c in configs],
                    clock=clock or time.time_ns)  # fmt: skip
    engine.start()
    return engine


def kinds(recorder: Recorder) -> list[tuple[str, str, str | None]]:
    return [(r.json()["kind"], r.json()["severity"], r.json()["previous"]) for r in recorder.received]


def wait_for(recorder: Recorder, count: int) -> list[tuple[str, str, str | None]]:
    return eventually(lambda: kinds(recorder), lambda k: len(k) >= count, seconds=10)


def test_an_incident_fires_once_then_escalates_once_as_its_evidence_arrives(
    store: DuckDBStore, recorder: Recorder, tmp_path: Path
) -> None:  # fmt: skip
    engine = started(store, webhook(tmp_path, recorder.url))
    try:
        add(store, TETRAGON)
        engine.stored()
        assert wait_for(recorder, 1) == [("firing", "high", None)]
        first = recorder.received[0].json()["incident"]
        add(store, FALCO)  # an earlier signal: the same incident under a new id, and no new notice
        engine.stored()
        add(store, AUDIT)
        engine.stored()
        assert wait_for(recorder, 2) == [("firing", "high", None), ("escalated", "critical", "high")]
        escalated = recorder.received[1].json()["incident"]
        assert escalated["id"] == first["id"] and escalated["actors"] == ["alice@example.com"]
        time.sleep(0.3)
        assert len(recorder.received) == 2, "an incident was told more than once"
    finally:
        engine.stop()
    assert store.outbox_pending() == []


def test_a_restart_does_not_tell_again(store: DuckDBStore, recorder: Recorder, tmp_path: Path) -> None:
    add(store, [*TETRAGON, *FALCO, *AUDIT])
    engine = started(store, webhook(tmp_path, recorder.url))
    assert wait_for(recorder, 1) == [("firing", "critical", None)]
    engine.stop()
    again = started(store, webhook(tmp_path, recorder.url))
    try:
        again.stored()
        eventually(lambda: again.counters.looks, lambda n: n >= 2)
        assert len(recorder.received) == 1
    finally:
        again.stop()


def test_a_quiet_incident_is_resolved(store: DuckDBStore, recorder: Recorder, tmp_path: Path) -> None:
    clock = Clock()
    add(store, TETRAGON)
    engine = started(store, webhook(tmp_path, recorder.url), clock=clock)
    try:
        assert wait_for(recorder, 1) == [("firing", "high", None)]
        clock.now += QUIET * NS
        engine.stored()
        assert wait_for(recorder, 2)[1] == ("resolved", "high", None)
        assert recorder.received[1].json()["ends_at"] is not None
    finally:
        engine.stop()


def test_a_refused_notice_is_sent_again_until_taken(store: DuckDBStore, recorder: Recorder, tmp_path: Path) -> None:
    recorder.answer(500)
    recorder.answer(503, retry_after="0")
    add(store, TETRAGON)
    engine = started(store, webhook(tmp_path, recorder.url))
    try:
        eventually(lambda: len(recorder.received), lambda n: n >= 3, seconds=15)
        assert kinds(recorder) == [("firing", "high", None)] * 3
        assert engine.counters.failed["hook"] == 2
        eventually(store.outbox_pending, lambda p: p == [])
    finally:
        engine.stop()


def test_a_notice_not_delivered_before_a_stop_is_sent_after_the_restart(
    store: DuckDBStore, recorder: Recorder, tmp_path: Path
) -> None:  # fmt: skip
    add(store, TETRAGON)
    dead = webhook(tmp_path, "http://127.0.0.1:9")  # nothing listens: every send fails
    engine = started(store, dead)
    eventually(lambda: engine.counters.failed["hook"], lambda n: n >= 1)
    engine.stop()
    assert [output for _, output, _ in store.outbox_pending()] == ["hook"]
    again = started(store, webhook(tmp_path, recorder.url))
    try:
        assert wait_for(recorder, 1) == [("firing", "high", None)]
        eventually(store.outbox_pending, lambda p: p == [])
    finally:
        again.stop()


def test_alertmanager_shows_the_incident_then_its_escalation(store: DuckDBStore, alertmanager: Alertmanager) -> None:
    engine = started(store, OutputConfig("alertmanager", "am", url=alertmanager.url, min_severity="high"))
    try:
        add(store, TETRAGON)
        engine.stored()
        (fired,) = eventually(lambda: _alerts(alertmanager, store), lambda a: len(a) == 1)
        assert fired["labels"]["severity"] == "high" and fired["labels"]["pod"] == "api-7d9c6b5f8-x2k4j"
        add(store, [*FALCO, *AUDIT])
        engine.stored()
        (now,) = eventually(
            lambda: _alerts(alertmanager, store), lambda a: len(a) == 1 and a[0]["labels"]["severity"] == "critical"
        )
        assert now["labels"]["incident_id"] == fired["labels"]["incident_id"]
    finally:
        engine.stop()


def _alerts(am: Alertmanager, store: DuckDBStore) -> list[dict[str, Any]]:
    told = store.told_incidents()
    return am.alerts(told[0]["id"], active=True) if told else []


def test_the_window_holds_back_for_active_incidents_two_windows_at_most_and_reaches_back_for_late_events(
    store: DuckDBStore,
) -> None:  # fmt: skip
    add(store, TETRAGON)
    until = store.query("newest_event")[0]["newest"] + 1
    engine = Engine(store, AlertSettings(window_seconds=60, horizon_seconds=6 * 3600), [])

    def since() -> int:
        window = engine._window()
        assert window is not None and window.until == until
        return until - window.since

    def active(start_s: int) -> dict[str, Told]:
        return {"i": Told("i", "high", True, 0, 0, until - start_s * NS, until, 1, {"steps": []})}

    assert since() == 60 * NS
    engine.told = active(90)
    assert since() == 90 * NS  # back to the active incident's first signal ...
    engine.told = active(600)
    assert since() == 120 * NS  # ... two windows at most: a steady channel no longer holds it for a day
    engine.stored(oldest=until - 1800 * NS)  # a sensor half an hour behind: with what it may link to
    assert since() == 1800 * NS + LINK_NS
    assert since() == 120 * NS  # once looked at, not again
    engine.stored(oldest=until - 10 * 3600 * NS)
    assert since() == 6 * 3600 * NS  # never past the horizon
