"""The `detectors:` section: the statistical detectors' severities, parameters and allow-lists,
set by a rule file key by key, and what `incidents` then reports."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from kubetrail.answers.incidents import Query, incidents
from kubetrail.answers.window import Window
from kubetrail.ingest.pipeline import Options, ingest
from kubetrail.ingest.reader import expand_paths
from kubetrail.rules import RuleError, builtin, load
from kubetrail.rules.detectors import Detectors, SteadyChannel
from kubetrail.store.duckdb import DuckDBStore
from kubetrail.timeutil import parse_rfc3339
from tests.conftest import FIXTURES

WINDOW = Window(parse_rfc3339("2026-11-28T00:00:00Z"), parse_rfc3339("2026-11-28T12:00:00Z"))


def detectors(tmp_path: Path, text: str) -> Detectors:
    (tmp_path / "d.yaml").write_text(text)
    return load([tmp_path]).detectors


def test_the_defaults_hold_until_a_file_sets_a_key_and_then_only_that_key(tmp_path: Path) -> None:
    assert builtin().detectors == Detectors()
    got = detectors(
        tmp_path, "detectors:\n  steady_channel: {min_connections: 8, min_span: 1h, allow: {cidrs: [198.51.100.0/24]}}\n"
    )
    assert (got.steady_channel.min_connections, got.steady_channel.min_span_ns) == (8, 3600 * 10**9)
    assert got.steady_channel.max_cv == SteadyChannel().max_cv and got.new_destination == Detectors().new_destination
    assert got.steady_channel.allow.destination("198.51.100.40", []) and not got.steady_channel.allow.destination("10.0.0.1", [])


def test_a_wrong_setting_is_refused_with_its_place(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match=r"d\.yaml:3: detectors\.new_destination\.severity: 'urgent' is not one of"):
        detectors(tmp_path, "detectors:\n  new_destination:\n    severity: urgent\n")
    with pytest.raises(RuleError, match=r"d\.yaml:2: new_destination\.allow: .*does not appear to be an IPv4 or IPv6 network"):
        detectors(tmp_path, "detectors:\n  new_destination: {allow: {cidrs: [10.0.0.0/40]}}\n")
    with pytest.raises(RuleError, match="Additional properties are not allowed"):
        detectors(tmp_path, "detectors:\n  beacons: {severity: low}\n")


def story(folder: Path, name: str, detectors_yaml: str | None = None) -> list[dict[str, Any]]:
    """The incidents of a story, with the built-in rules and a file of these detector settings."""
    folder.mkdir(parents=True)
    rules = builtin()
    if detectors_yaml is not None:
        (folder / "d.yaml").write_text(detectors_yaml)
        rules = load([folder / "d.yaml"])
    store = DuckDBStore(folder / "k.duckdb")
    try:
        ingest(store, list(expand_paths([str(FIXTURES / "stories" / name)])), Options())
        return incidents(store, Query(WINDOW, rules=rules))["rows"]
    finally:
        store.close()


def test_an_allowed_destination_raises_no_steady_channel_and_a_severity_is_the_teams(tmp_path: Path) -> None:
    assert [r["severity"] for r in story(tmp_path / "a", "beacon")] == ["high"]
    (row,) = story(tmp_path / "b", "beacon", "detectors:\n  steady_channel: {severity: medium}\n")
    assert row["severity"] == "medium" and row["destinations"] == ["198.51.100.40"]
    assert story(tmp_path / "c", "beacon", "detectors:\n  steady_channel: {allow: {cidrs: [198.51.100.40/32]}}\n") == []


def test_an_allowed_new_destination_is_no_signal(tmp_path: Path) -> None:
    (row,) = story(tmp_path / "a", "egress")
    assert row["destinations"] == ["198.51.100.23", "203.0.113.99"]
    (row,) = story(tmp_path / "b", "egress", "detectors:\n  new_destination: {allow: {cidrs: [203.0.113.0/24]}}\n")
    assert row["destinations"] == ["198.51.100.23"]  # the mining-pool connection is a rule's, not this detector's


def test_a_teams_baseline_policy_decides_when_a_baseline_is_learned(tmp_path: Path) -> None:
    # The actor story's account made a call every 30 min until the day before: in the two days
    # before the window, 28 calls over 13.5 h, short of the default 24 h and 50 calls.
    from kubetrail.answers.actor import Query as ActorQuery
    from kubetrail.answers.actor import actor

    (tmp_path / "d.yaml").write_text("detectors:\n  baselines: {min_history: 12h, min_events: 20}\n")
    store = DuckDBStore(tmp_path / "k.duckdb")
    try:
        ingest(store, list(expand_paths([str(FIXTURES / "stories" / "actor")])), Options())
        window = Window(parse_rfc3339("2026-11-28T10:00:00Z"), parse_rfc3339("2026-11-28T11:00:00Z"))
        asked = ActorQuery(window, "system:serviceaccount:shop:cart", baseline_ns=2 * 86400 * 10**9)
        default = actor(store, asked)
        tuned = actor(store, replace(asked, rules=load([tmp_path / "d.yaml"])))
    finally:
        store.close()
    assert "too short to judge (28 calls over 13.5 h before the window)" in default["gaps"][0]
    assert not any("too short" in g for g in tuned["gaps"])
    assert any("never done by this account in its baseline" in r for row in tuned["rows"] for r in row["reasons"])
