"""The serve benchmark at a tiny size: a real `kubetrail serve` and load generator for a few
seconds, then the report has a row for every measure and every acknowledged event is in the
store, once. Nothing is recorded; no wall time is asserted."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import msgspec
import pytest
from bench.inputs import cluster
from bench.serve import (
    STORY_FILES,
    WIRES,
    Config,
    Run,
    Sample,
    in_event_time,
    ladder_lines,
    rss_row,
    run,
    sustained_lines,
)

TINY = Config(rate=500, seconds=5, events=4000)


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return run(Config(rate=TINY.rate, seconds=TINY.seconds, events=TINY.events, data=tmp_path_factory.mktemp("bench-data")))


def test_every_acknowledged_event_is_stored_once(result: Run) -> None:
    assert {s.source for s in result.stored} == {w.source for w in WIRES}
    for s in result.stored:
        assert s.records > 0 and s.expected > 0, f"{s.source}: nothing acknowledged"
        assert (s.stored, s.missing, s.extra, s.repeated) == (s.expected, 0, 0, 0), s
    assert result.exactly_once and result.quarantined == 0


def test_every_request_sent_is_acknowledged_and_the_server_stops_cleanly(result: Run) -> None:
    assert result.failed == 0 and result.acked
    assert {s.wire for s in result.acked} == set(range(len(WIRES)))
    assert result.exit_status == 0
    assert result.samples and all(s.rss > 0 for s in result.samples)


def test_the_report_has_a_row_for_each_measure(result: Run) -> None:
    text = "\n".join(sustained_lines(result))
    measures = ("acknowledged:", "request to 2xx", "server RSS", "drain backlog", "CPU of the server",
                "CPU of the load generator", "SIGTERM", "stored, exactly once", "| time |")  # fmt: skip
    for what in measures:
        assert what in text, what
    for wire in WIRES:
        assert f"… {wire.path}" in text and f"| {wire.source} |" in text
    assert "✗" not in text.split("stored, exactly once")[1].split("\n")[0]


def test_the_ladder_names_the_highest_rate_that_held(result: Run) -> None:
    text = "\n".join(ladder_lines([result]))
    assert ("Highest rate that held: 500 events/s" in text) == result.held


def test_a_short_run_does_not_judge_trends(result: Run, tmp_path: Path) -> None:
    assert result.rss_flat is None and result.drain_keeps_up is None


def test_a_replay_in_event_time_carries_every_planted_story(tmp_path: Path) -> None:
    # The Hubble stories (story-hubble.json, beside hubble-flows.json) were left out of every
    # replay: bench.alerts never sent the planted beacon's DNS answers or any story's flows.
    inputs = cluster(TINY.events, 7, tmp_path / "data").folder
    out = in_event_time(inputs, tmp_path / "replay", WIRES, rate=100_000, seconds=10)  # past the last line
    replayed = b"".join((out / w.file).read_bytes() for w in WIRES)
    story_files = sorted(inputs.glob("story-*"))
    assert {p.name for p in story_files} == set(STORY_FILES.values())
    for path in story_files:
        lines = path.read_bytes().splitlines()
        assert lines and all(line in replayed for line in lines), path.name


def test_the_rss_trend_is_given_with_its_standard_error(result: Run) -> None:
    # RSS swings by tens of MiB from second to second: over 300 s a fit's slope is uncertain by
    # about as much as the flatness target, and the report says so.
    rng = random.Random(7)
    samples = [Sample(t, int(500 * 2**20 + 2**20 * t / 60 + rng.gauss(0, 30 * 2**20)), 0, 0.0, 0.0, 0) for t in range(601)]
    gen = msgspec.structs.replace(result.gen, start=0.0, done=600.0)
    r = replace(result, config=replace(result.config, seconds=600.0), gen=gen, samples=samples)
    slope, error = r.second_half_fit(lambda s: s.rss)
    assert abs(slope - 2**20) < 3 * error and 0.5 * 2**20 < error < 2 * 2**20  # ~1.2 MiB/min for this scatter
    assert f"± {error / 2**20:,.1f}: the fit's standard error" in rss_row(r)[1]
