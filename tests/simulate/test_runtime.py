"""The runtime writers: Tetragon's JSON export and Falco's json_output for the simulated cluster,
each node's lines stamped by that node's clock, merged from all nodes with a few lines late."""

from __future__ import annotations

import re
from base64 import b64decode
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from kubetrail.ingest.pipeline import Options, ingest
from kubetrail.simulate.cluster import NS, Cluster, Pod, build_cluster
from kubetrail.simulate.runtime import _clock, write_falco, write_tetragon
from kubetrail.store.duckdb import DuckDBStore
from kubetrail.timeutil import parse_rfc3339 as ns
from tests.conftest import load_values
from tests.simulate.test_audit import offsets, without_drift
from tests.simulate.test_network import late_lines

START = ns("2026-03-02T08:00:00Z")
HOURS = 6.0
EVENTS = 20_000
Writer = Callable[..., int]

# Tetragon's event bodies share one Process message (tetragon.Process) for `process` and `parent`:
# a process path seen under any event type counts for all (the corpus's exits lack pod_labels).
_PROCESS_PATH = re.compile(r"\Aprocess_\w+\.(process|parent)\.")
# Fields the writers emit that no corpus sample carries, each documented upstream.
DOCUMENTED = {
    # tetragon.KprobeSock, the sock_arg of a tcp_connect kprobe (docs: use-cases/network-observability)
    "process_kprobe.args[].sock_arg", "process_kprobe.args[].sock_arg.family", "process_kprobe.args[].sock_arg.type",
    "process_kprobe.args[].sock_arg.protocol", "process_kprobe.args[].sock_arg.saddr",
    "process_kprobe.args[].sock_arg.daddr", "process_kprobe.args[].sock_arg.sport",
    "process_kprobe.args[].sock_arg.dport",
    # Falco fields (docs: reference/rules/supported-fields) in the default rules' outputs
    "output_fields.container.name", "output_fields.proc.exepath", "output_fields.evt.type",
    "output_fields.user.uid",
}  # fmt: skip


@pytest.fixture(scope="module")
def cluster() -> Cluster:
    return build_cluster(11, START, HOURS)


@pytest.fixture(scope="module")
def tetragon(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("runtime") / "tetragon.jsonl"
    write_tetragon(path, cluster=cluster, events=EVENTS, seed=5)
    return path


@pytest.fixture(scope="module")
def falco(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("runtime") / "falco.jsonl"
    write_falco(path, cluster=cluster, events=EVENTS, seed=5)
    return path


def lines(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def key_paths(value: Any, prefix: str = "", into: set[str] | None = None) -> set[str]:
    """Dotted key paths; list items add `[]`, free-form label maps' keys become `*`."""
    paths = set() if into is None else into
    if isinstance(value, dict):
        for key, child in value.items():
            labels = prefix.endswith((".labels", ".pod_labels"))
            path = f"{prefix}.{'*' if labels else key}" if prefix else key
            paths.add(path)
            if prefix != "output_fields":  # Falco's field names contain dots: they are leaves
                key_paths(child, path, paths)
    elif isinstance(value, list):
        for child in value:
            key_paths(child, f"{prefix}[]", paths)
    return paths


def tetragon_paths(records: list[Any]) -> set[str]:
    paths: set[str] = set()
    for record in records:
        key_paths(record, into=paths)
    return {_PROCESS_PATH.sub(r"process_*.\1.", p) for p in paths}


def falco_paths(records: list[Any]) -> set[str]:
    paths: set[str] = set()
    for record in records:
        key_paths(record, into=paths)
    return paths


def corpus(corpora: Path, source: str) -> list[Any]:
    files = sorted(f for f in (corpora / source).rglob("*") if f.is_file() and "k8s_audit" not in f.parts)
    return [v for f in files for v in load_values(f) if isinstance(v, dict)]


def node_of(record: dict[str, Any]) -> str:
    return str(record.get("node_name") or record["hostname"])


def true_time(cluster: Cluster, record: dict[str, Any]) -> int:
    """When it happened: the time printed, less the clock offset of the node that printed it."""
    return ns(record["time"]) - offsets(cluster)[node_of(record)]


def twins(cluster: Cluster, tmp_path: Path, write: Writer) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Each line of `write`, and the same line from the cluster whose clocks are right."""
    write(tmp_path / "skewed", cluster=cluster, events=3000, seed=3)
    write(tmp_path / "true", cluster=without_drift(cluster), events=3000, seed=3)
    skewed = sorted(lines(tmp_path / "skewed"), key=lambda r: (true_time(cluster, r), node_of(r)))
    true = sorted(lines(tmp_path / "true"), key=lambda r: (ns(r["time"]), node_of(r)))
    return list(zip(skewed, true, strict=True))


def execs_and_pods(cluster: Cluster) -> tuple[dict[str, Pod], dict[str, Pod]]:
    by_container = {c.container_id: p for p in cluster.pods for c in p.containers}
    by_name = {f"{p.namespace}/{p.name}/{p.uid}": p for p in cluster.pods}
    return by_container, by_name


# ---- as files ------------------------------------------------------------------------------


@pytest.mark.parametrize("write", [write_tetragon, write_falco])
def test_the_same_seed_writes_the_same_bytes_and_another_seed_others(cluster: Cluster, tmp_path: Path, write: Writer) -> None:
    paths = [tmp_path / f"{i}.jsonl" for i in range(3)]
    for path, seed in zip(paths, (1, 1, 2), strict=True):
        write(path, cluster=cluster, events=3000, seed=seed)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()


@pytest.mark.parametrize("count", [0, 1, 2, 3, 1000])
@pytest.mark.parametrize("write", [write_tetragon, write_falco])
def test_exactly_the_requested_number_of_lines_is_written(cluster: Cluster, tmp_path: Path, write: Writer, count: int) -> None:
    path = tmp_path / "out.jsonl"
    assert write(path, cluster=cluster, events=count, seed=9) == count
    assert len(path.read_bytes().splitlines()) == count


@pytest.mark.parametrize("name", ["tetragon", "falco"])
def test_lines_arrive_nearly_in_time_order_within_the_period(cluster: Cluster, name: str, request: pytest.FixtureRequest) -> None:
    records = lines(request.getfixturevalue(name))
    assert len(records) == EVENTS
    late = late_lines([ns(r["time"]) for r in records])
    assert 0 < late < EVENTS * 0.06
    true = [true_time(cluster, r) for r in records]
    assert cluster.start_ns <= min(true) and max(true) < cluster.end_ns


def test_tetragon_stamps_with_its_nodes_clock_and_start_times_with_the_same(cluster: Cluster, tmp_path: Path) -> None:
    seen = set()
    for skewed, true in twins(cluster, tmp_path, write_tetragon):
        offset = offsets(cluster)[skewed["node_name"]]
        seen.add(offset)
        assert ns(skewed["time"]) - ns(true["time"]) == offset
        (etype,) = (k for k in skewed if k.startswith("process_"))
        for role in ("process", "parent"):
            block, twin = skewed[etype][role], true[etype][role]
            assert ns(block["start_time"]) - ns(twin["start_time"]) == offset
            assert block["exec_id"] == twin["exec_id"]  # from the kernel's time since boot: no offset in it
            if "pod" in block:
                container = ns(block["pod"]["container"]["start_time"]) - ns(twin["pod"]["container"]["start_time"])
                assert abs(container - offset) < NS  # whole seconds
    assert len(seen) == len(cluster.nodes)


def test_falco_stamps_with_its_nodes_clock(cluster: Cluster, tmp_path: Path) -> None:
    seen = set()
    for skewed, true in twins(cluster, tmp_path, write_falco):
        offset = offsets(cluster)[skewed["hostname"]]
        seen.add(offset)
        fields, twin = skewed["output_fields"], true["output_fields"]
        assert ns(skewed["time"]) - ns(true["time"]) == fields["evt.time"] - twin["evt.time"] == offset
        assert ns(skewed["time"]) == fields["evt.time"]
        if skewed["source"] == "internal":
            assert fields["falco.start_ts"] - twin["falco.start_ts"] == offset
        else:
            prefix, _, rest = skewed["output"].partition(": ")
            assert prefix == _clock(fields["evt.time"]) and rest == true["output"].partition(": ")[2]
    assert len(seen) == len(cluster.nodes)


# ---- like the real thing -------------------------------------------------------------------


def test_every_tetragon_key_path_is_one_real_tetragon_events_have(corpora: Path, tetragon: Path) -> None:
    real = tetragon_paths(corpus(corpora, "tetragon"))
    assert tetragon_paths(lines(tetragon)) - real - DOCUMENTED == set()


def test_every_falco_key_path_is_one_real_falco_alerts_have(corpora: Path, falco: Path) -> None:
    real = falco_paths([v for v in corpus(corpora, "falco") if "rule" in v])
    assert falco_paths(lines(falco)) - real - DOCUMENTED == set()


@pytest.mark.parametrize("name", ["tetragon", "falco"])
def test_the_output_ingests_with_nothing_quarantined(name: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    path: Path = request.getfixturevalue(name)
    store = DuckDBStore(tmp_path / "kt.duckdb")
    try:
        summary = ingest(store, [str(path)], Options(workers=1))
    finally:
        store.close()
    assert summary.quarantined == 0 and summary.duplicates == 0 and summary.conflicts == 0
    assert summary.ingested[name] == EVENTS


def test_falco_has_benign_alerts_and_a_snapshot_per_node_every_five_minutes(cluster: Cluster, falco: Path) -> None:
    records = lines(falco)
    snapshots = [r for r in records if r["source"] == "internal"]
    assert {r["rule"] for r in records} == {
        "Falco internal: metrics snapshot",
        "Read sensitive file untrusted",
        "Contact K8S API Server From Container",
    }
    for node in cluster.nodes:
        mine = [r for r in snapshots if r["hostname"] == node.name]
        assert abs(len(mine) - HOURS * 12) <= 1
        counts = [r["output_fields"]["scap.n_evts"] for r in mine]
        assert counts == sorted(counts)
    for record in snapshots:
        assert record["output"] == "Falco metrics snapshot" and record["priority"] == "Informational"
        assert record["output_fields"]["evt.source"] == "syscall"


def test_falco_alerts_name_a_live_pod_and_its_container(cluster: Cluster, falco: Path) -> None:
    by_container, _ = execs_and_pods(cluster)
    short = {cid[:12]: pod for cid, pod in by_container.items()}
    alerts = [r for r in lines(falco) if r["source"] == "syscall"]
    assert alerts
    for alert in alerts:
        fields = alert["output_fields"]
        pod = short[fields["container.id"]]
        assert pod.alive(true_time(cluster, alert)) and ns(alert["time"]) == fields["evt.time"]
        assert (fields["k8s.ns.name"], fields["k8s.pod.name"], alert["hostname"]) == (pod.namespace, pod.name, pod.node.name)


# ---- consistent with the model --------------------------------------------------------------


def test_tetragon_processes_run_in_live_pods_under_their_parents(cluster: Cluster, tetragon: Path) -> None:
    by_container, _ = execs_and_pods(cluster)
    execs: dict[str, str] = {}  # exec_id -> pod uid
    kinds: set[str] = set()
    children = 0
    for record in sorted(lines(tetragon), key=lambda r: true_time(cluster, r)):  # a few lines come late
        etype = next(k for k in record if k.startswith("process_"))
        kinds.add(etype)
        process, parent, t = record[etype]["process"], record[etype]["parent"], true_time(cluster, record)
        container = process["pod"]["container"]
        pod = by_container[container["id"].removeprefix("containerd://")]
        assert pod.alive(t), (etype, pod.name)
        assert (process["pod"]["namespace"], process["pod"]["name"], record["node_name"]) == (
            pod.namespace,
            pod.name,
            pod.node.name,
        )
        assert container["image"]["name"] in {c.image for c in pod.containers}
        node, _, pid = b64decode(process["exec_id"]).decode().rpartition(":")
        assert node.startswith(pod.node.name) and int(pid) == process["pid"]
        if etype == "process_exec":
            execs[process["exec_id"]] = pod.uid
        else:
            assert execs.get(process["exec_id"]) == pod.uid, "an exit or kprobe of a process never exec'd"
        if "pod" in parent:  # a child of a main process
            children += etype == "process_exec"
            assert execs.get(process["parent_exec_id"]) == pod.uid
            assert parent["exec_id"] == process["parent_exec_id"] and parent["pod"]["container"]["pid"] == 1
        else:  # a main process, its parent the pod's containerd-shim on the host
            assert container["pid"] == 1 and parent["binary"].endswith("containerd-shim-runc-v2")
    assert kinds == {"process_exec", "process_exit", "process_kprobe"}
    assert children > EVENTS // 4
