"""Attack stories planted in a simulated cluster are found by `kubetrail incidents`, as the
ground truth written next to them says; the benign look-alike and the background are not."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import orjson
import pytest

from kubetrail.answers.incidents import Query, incidents
from kubetrail.answers.window import Window
from kubetrail.correlate.incidents import SEVERITIES
from kubetrail.ingest.pipeline import Options, ingest
from kubetrail.ingest.reader import expand_paths
from kubetrail.simulate.cluster import build_cluster
from kubetrail.simulate.run import DEFAULT_START_NS, simulate
from kubetrail.simulate.stories import AUDIT, FALCO, FILES, GROUND_TRUTH, HUBBLE, OTLP, TETRAGON, write_stories
from kubetrail.store.duckdb import DuckDBStore
from kubetrail.timeutil import parse_rfc3339
from tests.simulate import test_audit as audit
from tests.simulate import test_network as network
from tests.simulate import test_runtime as runtime
from tests.simulate.test_audit import event_paths, real_events
from tests.simulate.test_network import paths_of, real_values
from tests.simulate.test_runtime import corpus, falco_paths, tetragon_paths

HOURS = 3
# core/v1 PodSpec fields of the privileged pod that the corpora's pod bodies do not use.
POD_SPEC = {"object.spec.hostPID", "object.spec.containers[].command"}
SEEDS = [11, 29, random.SystemRandom().randrange(1 << 31)]


def at_least(severity: str, floor: str) -> bool:
    return SEVERITIES.index(severity) >= SEVERITIES.index(floor)


def simulate_and_ask(tmp_path: Path, seed: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    out = tmp_path / "sim"
    written = simulate(out, seed=seed, hours=HOURS, events=6000, stories=True)
    assert set(FILES) | {GROUND_TRUTH} <= set(written)
    truth = json.loads((out / GROUND_TRUTH).read_text())
    # Every source is the model's one cluster (Hubble names it in node_name, the other sources do
    # not), as `--cluster` says; the hidden ground truth is not read.
    paths = list(expand_paths([str(out)]))
    assert not any(Path(p).name == GROUND_TRUTH for p in paths)
    store = DuckDBStore(tmp_path / "k.duckdb")
    try:
        summary = ingest(store, paths, Options(cluster=truth["cluster"]))
        assert summary.quarantined == 0
        start = DEFAULT_START_NS
        doc = incidents(store, Query(Window(start, start + HOURS * 3600 * 10**9), limit=1000))
    finally:
        store.close()
    return truth, doc["rows"]


@pytest.mark.parametrize("seed", SEEDS)
def test_stories_are_found_and_nothing_else_is_raised(tmp_path: Path, seed: int) -> None:
    print(f"seed={seed}")
    truth, rows = simulate_and_ask(tmp_path, seed)
    assert {s["name"] for s in truth["stories"]} == {"exec-miner", "stolen-token", "http-exploit", "privileged-pod", "slow-exfil"}
    found: set[str] = set()
    for story in truth["stories"]:
        expected = story["expected"]
        # The story's incident, its initiator named where the story has one (the exfiltration's is unknown).
        who = expected["initiator_user"]
        matches = [r for r in rows if story["pod"] in r["pods"] and (who is None or who in r["actors"])]
        assert len(matches) == 1, (story["name"], [(r["title"], r["pods"], r["actors"]) for r in rows])
        (row,) = matches
        assert at_least(row["severity"], expected["incident_min_severity"]), (story["name"], row)
        assert set(row["techniques"]) & set(expected["techniques_any_of"]), (story["name"], row["techniques"])
        start, end = parse_rfc3339(story["start"]), parse_rfc3339(story["end"])
        steps = [parse_rfc3339(s["time"]) for s in row["steps"]]
        assert any(start - 10**9 <= t <= end + 10**9 for t in steps), (story["name"], row["steps"])
        found.add(row["id"])
    for benign in truth["benign"]:
        # A look-alike raises nothing high of its own: no high incident with its pod has a step in its
        # time. (Its pod may still be among an attack's pods: the CI runners' deployer token is the
        # privileged-pod story's, and the background's denied calls with it link to that story.)
        start, end = parse_rfc3339(benign["start"]) - 2 * 10**9, parse_rfc3339(benign["end"]) + 2 * 10**9
        for r in rows:
            if benign["pod"] in r["pods"] and at_least(r["severity"], "high"):
                assert not any(start <= parse_rfc3339(s["time"]) <= end for s in r["steps"]), (benign, r["title"])
    # The background stays quiet: no other incident at all (the benign look-alike may be a low one).
    others = [r for r in rows if r["id"] not in found and not any(b["pod"] in r["pods"] for b in truth["benign"])]
    assert others == [], [(r["severity"], r["title"]) for r in others]


def _printed(record: dict[str, Any]) -> int:
    """The time a story record's producer printed: audit stage, OTLP span start, or the record's `time`."""
    if "resourceSpans" in record:
        return int(record["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["startTimeUnixNano"])
    return parse_rfc3339(record.get("stageTimestamp") or record["time"])


def test_the_same_seed_plants_the_same_stories(tmp_path: Path) -> None:
    cluster = build_cluster(7, DEFAULT_START_NS, 2)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    counts = write_stories(tmp_path / "a", cluster, 7)
    assert counts == write_stories(tmp_path / "b", cluster, 7)
    for name in (*FILES, GROUND_TRUTH):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_story_records_are_in_time_order_on_pods_alive_then(tmp_path: Path) -> None:
    cluster = build_cluster(5, DEFAULT_START_NS, HOURS)
    write_stories(tmp_path, cluster, 5)
    pods = {f"{p.namespace}/{p.name}": p for p in cluster.pods}
    truth = json.loads((tmp_path / GROUND_TRUTH).read_text())
    for story in truth["stories"] + truth["benign"]:
        # A pod the story created is not the model's: the pod that created it is.
        pod = pods[story.get("details", {}).get("created_by_pod", story["pod"])]
        assert pod.alive(parse_rfc3339(story["start"])) and pod.alive(parse_rfc3339(story["end"]))
    for name in FILES:
        lines = [json.loads(line) for line in (tmp_path / name).read_text().splitlines()]
        assert lines, name
        times = [_printed(r) for r in lines]
        assert times == sorted(times), name
        assert all(cluster.start_ns <= t < cluster.end_ns for t in times), name


def test_every_key_path_the_stories_write_is_one_real_records_have(corpora: Path, tmp_path: Path) -> None:
    """As for the background (tests/simulate/test_{audit,runtime,network}.py): each story file's key
    paths exist in the real corpora or in the producer's published schema listed there."""
    write_stories(tmp_path, build_cluster(5, DEFAULT_START_NS, HOURS), 5)

    def read(name: str) -> list[dict[str, Any]]:
        return [orjson.loads(line) for line in (tmp_path / name).read_bytes().splitlines()]

    missing = {
        AUDIT: event_paths(read(AUDIT)) - event_paths(real_events(corpora)) - audit.DOCUMENTED - POD_SPEC,
        TETRAGON: tetragon_paths(read(TETRAGON)) - tetragon_paths(corpus(corpora, "tetragon")) - runtime.DOCUMENTED,
        FALCO: falco_paths(read(FALCO)) - falco_paths([v for v in corpus(corpora, "falco") if "rule" in v]) - runtime.DOCUMENTED,
        HUBBLE: paths_of(read(HUBBLE)) - paths_of(real_values(corpora, "hubble")) - network.HUBBLE_DOCUMENTED,
        OTLP: paths_of(read(OTLP)) - paths_of(real_values(corpora, "otel")) - network.OTLP_DOCUMENTED,
    }
    assert missing == {name: set() for name in FILES}
