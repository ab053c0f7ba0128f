"""simulate: the cluster model and the audit log written from it (and the webhook backend's
copy of it), checked against itself and against the real audit events of the corpora."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import replace
from itertools import pairwise
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import orjson
import pytest

from kubetrail.simulate.audit import write_audit, write_audit_log
from kubetrail.simulate.cluster import ALPHABET, NS, Cluster, Pod, build_cluster
from kubetrail.sources import detect
from kubetrail.sources.k8s_audit import SOURCE
from kubetrail.timeutil import parse_rfc3339 as ns
from tests.conftest import load_values

START = ns("2026-03-02T08:00:00Z")
HOURS = 12.0
EVENTS = 40_000

# The audit.k8s.io/v1 Event fields, in the order of the Go struct (k8s.io/apiserver/pkg/apis/audit/v1).
GO_ORDER = ("kind", "apiVersion", "level", "auditID", "stage", "requestURI", "verb", "user", "impersonatedUser",
            "sourceIPs", "userAgent", "objectRef", "responseStatus", "requestObject", "responseObject",
            "requestReceivedTimestamp", "stageTimestamp", "annotations")  # fmt: skip

# Fields the simulator writes that no corpus sample happens to carry, each documented upstream.
DOCUMENTED = {
    # audit/v1 Event.impersonatedUser (authentication/v1 UserInfo)
    "impersonatedUser", "impersonatedUser.username", "impersonatedUser.groups",
    # UserInfo.extra of a pod-bound service-account token: the pod, and since v1.30 its node and JTI (KEP-4193)
    "user.extra.authentication.kubernetes.io/credential-id", "user.extra.authentication.kubernetes.io/node-name",
    "user.extra.authentication.kubernetes.io/node-uid", "user.extra.authentication.kubernetes.io/pod-name",
    "user.extra.authentication.kubernetes.io/pod-uid",
    # meta/v1 Status of a failed request, in Event.responseStatus
    "responseStatus.message", "responseStatus.reason", "responseStatus.details", "responseStatus.details.name",
    "responseStatus.details.kind",
    # core/v1 Binding (pods/binding) and the Status it returns; core/v1 ConfigMapVolumeSource
    "object.target", "object.target.kind", "object.target.name", "object.code",
    "object.spec.volumes[].configMap", "object.spec.volumes[].configMap.name",
    "object.spec.volumes[].configMap.defaultMode",
}  # fmt: skip

MICRO_TIME = re.compile(r"\A\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z\Z")
BOUND_POD_UID = "authentication.kubernetes.io/pod-uid"
FIXTURES = Path(__file__).parents[1] / "fixtures"
WEBHOOK_EVENTS = 6000


@pytest.fixture(scope="module")
def cluster() -> Cluster:
    return build_cluster(11, START, HOURS)


@pytest.fixture(scope="module")
def log(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("audit") / "audit.log"
    write_audit_log(path, cluster=cluster, events=EVENTS, seed=5)
    return path


@pytest.fixture(scope="module")
def events(log: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in log.read_bytes().splitlines()]


@pytest.fixture(scope="module")
def webhook(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, tuple[int, int]]:
    """A log and the webhook file of the same events: (log, webhook, events in each)."""
    folder = tmp_path_factory.mktemp("webhook")
    log, bodies = folder / "audit.log", folder / "audit-webhook.json"
    counts = write_audit(log, bodies, cluster=cluster, events=WEBHOOK_EVENTS, seed=5)
    return log, bodies, counts


def key_paths(value: Any, prefix: str = "", into: set[str] | None = None) -> set[str]:
    """Dotted key paths; list items add `[]`, and labels (free-form keys) become `*`."""
    paths = set() if into is None else into
    if isinstance(value, dict):
        for key, child in value.items():
            path = f"{prefix}.{'*' if prefix.endswith('.labels') else key}" if prefix else key
            paths.add(path)
            key_paths(child, path, paths)
    elif isinstance(value, list):
        for child in value:
            key_paths(child, f"{prefix}[]", paths)
    return paths


def event_paths(events: list[dict[str, Any]]) -> set[str]:
    """Key paths of events; request and response bodies are both Kubernetes objects: `object`."""
    paths: set[str] = set()
    for event in events:
        key_paths(event, into=paths)
    return {re.sub(r"\A(request|response)Object", "object", p) for p in paths}


def real_events(corpora: Path) -> list[dict[str, Any]]:
    """Falco's audit trace files, and the native events of the Elastic sample (alone or in AKS records)."""
    found = [v for f in sorted((corpora / "falco/k8s_audit").glob("*.json")) for v in load_values(f)]
    for value in load_values(corpora / "k8s-audit/elastic/kubernetes_audit_logs_test-audit.log"):
        inner = value.get("properties", {}).get("log") if value.get("category") else value
        inner = orjson.loads(inner) if isinstance(inner, str) else inner
        if isinstance(inner, dict) and inner.get("kind") == "Event":
            found.append(inner)
    return found


def by_uid(cluster: Cluster) -> dict[str, Pod]:
    return {p.uid: p for p in cluster.pods}


def without_drift(cluster: Cluster) -> Cluster:
    """The same cluster with every node's clock right: its sensors print true time."""
    nodes = {n.name: replace(n, clock_offset_ns=0) for n in cluster.nodes}
    pods = tuple(replace(p, node=nodes[p.node.name]) for p in cluster.pods)
    return replace(cluster, nodes=tuple(nodes.values()), pods=pods)


def offsets(cluster: Cluster) -> dict[str, int]:
    """Each node's clock offset, by node name."""
    return {n.name: n.clock_offset_ns for n in cluster.nodes}


def ip_holders(cluster: Cluster) -> dict[str, list[Pod]]:
    """The pods that held each pod-network IP, by start."""
    holders: dict[str, list[Pod]] = defaultdict(list)
    for pod in sorted(cluster.pods, key=lambda p: p.start_ns):
        if not pod.workload.host_network:
            holders[pod.ip].append(pod)
    return holders


# ---- the model ---------------------------------------------------------------------------


def test_the_same_seed_builds_the_same_cluster_and_another_seed_another() -> None:
    assert build_cluster(3, START, 2) == build_cluster(3, START, 2)
    assert build_cluster(3, START, 2).pods != build_cluster(4, START, 2).pods


def test_pods_cover_the_period_and_look_like_kubernetes_pods(cluster: Cluster) -> None:
    alive_at_start = [p for p in cluster.pods if p.alive(cluster.start_ns)]
    assert len(alive_at_start) >= sum(w.replicas for w in cluster.workloads)
    assert all(p.start_ns < cluster.end_ns for p in cluster.pods)
    assert len({p.uid for p in cluster.pods}) == len(cluster.pods)
    k8s = f"[{ALPHABET}]"
    for pod in cluster.pods:
        if pod.revision.owner_kind == "ReplicaSet":
            assert re.fullmatch(rf"{pod.workload.name}-{k8s}{{10}}-{k8s}{{5}}", pod.name), pod.name
        assert all(re.fullmatch(r"[0-9a-f]{64}", c.container_id) for c in pod.containers)


def test_a_pod_ip_is_reused_by_a_later_pod_after_its_holder_ended(cluster: Cluster) -> None:
    holders = ip_holders(cluster)
    reused = [(a, b) for pods in holders.values() for a in pods for b in pods if a.end_ns is not None and b.start_ns >= a.end_ns]
    assert reused, "no IP was handed to a second pod"


def test_no_two_live_pods_share_an_ip_except_on_the_host_network(cluster: Cluster) -> None:
    holders = ip_holders(cluster)
    for ip, pods in holders.items():
        for before, after in pairwise(pods):
            assert before.end_ns is not None and before.end_ns <= after.start_ns, f"{ip}: {before.name} and {after.name}"


def test_each_node_has_its_own_clock_offset_under_a_second(cluster: Cluster) -> None:
    found = [n.clock_offset_ns for n in cluster.nodes]
    assert all(0 < abs(o) < NS for o in found) and len(set(found)) == len(found)
    assert max(found) - min(found) < 2 * NS  # any two nodes within kubetrail's default --skew
    assert [n.stamp(START) - START for n in cluster.nodes] == found
    # drawn from the seed alone: the same for any period, another seed's are others
    assert [n.clock_offset_ns for n in build_cluster(11, START, 1).nodes] == found
    assert [n.clock_offset_ns for n in build_cluster(12, START, 1).nodes] != found


def test_host_network_pods_share_their_nodes_ip(cluster: Cluster) -> None:
    assert all(p.ip == p.node.ip for p in cluster.pods if p.workload.host_network)
    assert all(p.ip.startswith(p.node.pod_cidr.rsplit(".", 1)[0]) for p in cluster.pods if not p.workload.host_network)


# ---- the log as a file ----------------------------------------------------------------------


def test_the_same_seed_writes_the_same_bytes_and_another_seed_others(cluster: Cluster, tmp_path: Path) -> None:
    paths = [tmp_path / f"{i}.log" for i in range(3)]
    for path, seed in zip(paths, (1, 1, 2), strict=True):
        write_audit_log(path, cluster=cluster, events=3000, seed=seed)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()


@pytest.mark.parametrize("count", [0, 1, 2, 3, 1001])
def test_exactly_the_requested_number_of_lines_is_written(cluster: Cluster, tmp_path: Path, count: int) -> None:
    path = tmp_path / "audit.log"
    assert write_audit_log(path, cluster=cluster, events=count, seed=9) == count
    assert len(path.read_bytes().splitlines()) == count


def test_the_big_log_has_its_lines_too(log: Path) -> None:
    assert len(log.read_bytes().splitlines()) == EVENTS


def test_ampersands_are_escaped_as_go_escapes_them(log: Path) -> None:
    raw = log.read_bytes()
    assert b"&" not in raw and b"<" not in raw and b">" not in raw
    assert b"\\u0026watch=true" in raw


# ---- each event ----------------------------------------------------------------------------


def test_every_key_path_is_one_real_audit_events_have(corpora: Path, events: list[dict[str, Any]]) -> None:
    assert event_paths(events) - event_paths(real_events(corpora)) - DOCUMENTED == set()


def test_fields_come_in_the_order_of_the_go_struct(events: list[dict[str, Any]]) -> None:
    for event in events:
        keys = list(event)
        assert keys == [k for k in GO_ORDER if k in event], keys
        assert event["kind"] == "Event" and event["apiVersion"] == "audit.k8s.io/v1"
        assert UUID(event["auditID"]).version == 4


def test_lines_are_in_stage_timestamp_order_like_the_log_backend(events: list[dict[str, Any]]) -> None:
    stamps = [e["stageTimestamp"] for e in events]
    assert stamps == sorted(stamps)


# ---- the webhook backend's copy --------------------------------------------------------------


def test_the_webhook_changes_nothing_in_the_log(
    cluster: Cluster, webhook: tuple[Path, Path, tuple[int, int]], tmp_path: Path
) -> None:
    log, _, (in_log, _) = webhook
    write_audit_log(tmp_path / "alone.log", cluster=cluster, events=WEBHOOK_EVENTS, seed=5)
    assert log.read_bytes() == (tmp_path / "alone.log").read_bytes()
    assert in_log == WEBHOOK_EVENTS


def test_webhook_bodies_are_the_logs_events_in_batches_a_few_stored_twice(
    webhook: tuple[Path, Path, tuple[int, int]],
) -> None:
    log, bodies, (_, in_webhook) = webhook
    events, lines = log.read_bytes().splitlines(), bodies.read_bytes().splitlines()
    head = b'{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":['
    twice, done, items = 0, 0, 0
    for before, line in zip([b"", *lines], lines, strict=False):
        doc = orjson.loads(line)
        items += len(doc["items"])
        if line == before:  # sent again, verbatim, right after
            twice += 1
            continue
        stages = [ns(e["stageTimestamp"]) for e in doc["items"]]
        assert 1 <= len(stages) <= 400 and stages[-1] - stages[0] < 30 * NS
        # each item is the log's line, byte for byte, in the log's order
        assert line == head + b",".join(events[done : done + len(stages)]) + b"]}"
        done += len(stages)
    assert done == len(events) and items == in_webhook
    assert 0 < twice < len(lines) // 10


def test_webhook_bodies_are_event_lists_as_the_k8s_audit_source_reads_them(
    webhook: tuple[Path, Path, tuple[int, int]],
) -> None:
    _, bodies, _ = webhook
    (real,) = load_values(FIXTURES / "k8s_audit/webhook-eventlist.json")
    for line in bodies.read_bytes().splitlines()[:50]:
        doc = orjson.loads(line)
        assert list(doc) == list(real) and (doc["kind"], doc["apiVersion"]) == (real["kind"], real["apiVersion"])
        assert detect(doc) is SOURCE
        ids = [e.id for e in SOURCE.normalize(doc)]
        assert ids == [e.id for item in doc["items"] for e in SOURCE.normalize(item)]


def test_times_are_micro_times_within_the_period(cluster: Cluster, events: list[dict[str, Any]]) -> None:
    for event in events:
        received, stage = event["requestReceivedTimestamp"], event["stageTimestamp"]
        assert MICRO_TIME.match(received) and MICRO_TIME.match(stage)
        assert cluster.start_ns <= ns(received) <= ns(stage) < cluster.end_ns + 10**8


def test_exec_writes_response_started_then_complete_under_one_audit_id(events: list[dict[str, Any]]) -> None:
    stages = defaultdict(list)
    for event in events:
        if event["objectRef"].get("subresource") == "exec":
            stages[event["auditID"]].append(event)
    assert stages
    for pair in stages.values():
        assert [e["stage"] for e in pair] == ["ResponseStarted", "ResponseComplete"]
        assert {e["responseStatus"]["code"] for e in pair} == {101}
        query = parse_qs(urlsplit(pair[0]["requestURI"]).query)
        assert query["command"] and query["container"] and query["stdout"] == ["true"]


def test_every_kind_of_request_is_in_the_mix(events: list[dict[str, Any]]) -> None:
    codes = {e["responseStatus"]["code"] for e in events}
    assert {101, 200, 201, 403, 404} <= codes
    assert any(e["annotations"]["authorization.k8s.io/decision"] == "forbid" for e in events)
    assert any("impersonatedUser" in e for e in events)
    assert {e["verb"] for e in events} >= {"get", "list", "watch", "create", "update", "patch", "delete"}
    assert {e["stage"] for e in events if e["verb"] == "watch"} == {"ResponseStarted", "ResponseComplete"}


def test_secrets_are_logged_at_metadata_without_bodies(events: list[dict[str, Any]]) -> None:
    secrets = [e for e in events if e["objectRef"]["resource"] == "secrets"]
    assert secrets
    for event in secrets:
        assert event["level"] == "Metadata"
        assert "requestObject" not in event and "responseObject" not in event


def test_pod_creations_carry_the_models_pod(cluster: Cluster, events: list[dict[str, Any]]) -> None:
    pods = by_uid(cluster)
    created = [
        e
        for e in events
        if e["verb"] == "create" and e["objectRef"]["resource"] == "pods" and "subresource" not in e["objectRef"]
    ]
    assert created
    for event in created:
        assert event["level"] == "RequestResponse" and event["responseStatus"]["code"] == 201
        body = event["responseObject"]
        pod = pods[body["metadata"]["uid"]]
        assert body["metadata"]["name"] == pod.name and body["spec"]["serviceAccountName"] == pod.workload.service_account.name
        assert [c["image"] for c in body["spec"]["containers"]] == [c.image for c in pod.containers]
        assert body["metadata"]["ownerReferences"][0]["uid"] == pod.revision.owner_uid
        assert ns(event["requestReceivedTimestamp"]) < pod.start_ns


def test_bound_token_requests_come_from_the_pods_ip_of_that_moment(cluster: Cluster, events: list[dict[str, Any]]) -> None:
    pods, bound = by_uid(cluster), [e for e in events if BOUND_POD_UID in e["user"].get("extra", {})]
    assert len(bound) > 1000
    for event in bound:
        extra, t = event["user"]["extra"], ns(event["requestReceivedTimestamp"])
        pod = pods[extra[BOUND_POD_UID][0]]
        token = pod.token_at(t)
        assert pod.alive(t) and token is not None
        assert event["sourceIPs"] == [pod.ip]
        assert extra["authentication.kubernetes.io/pod-name"] == [pod.name]
        assert extra["authentication.kubernetes.io/node-name"] == [pod.node.name]
        assert extra["authentication.kubernetes.io/credential-id"] == [token.credential_id]
        assert event["user"]["username"] == pod.workload.service_account.username


def test_kubelets_speak_of_pods_on_their_own_node(cluster: Cluster, events: list[dict[str, Any]]) -> None:
    named: dict[tuple[str, str], list[Pod]] = defaultdict(list)
    for pod in cluster.pods:
        named[pod.namespace, pod.name].append(pod)
    kubelet_pod_calls = [
        e for e in events if e["user"]["username"].startswith("system:node:") and e["objectRef"]["resource"] == "pods"
    ]
    assert kubelet_pod_calls
    for event in kubelet_pod_calls:
        ref, t = event["objectRef"], ns(event["requestReceivedTimestamp"])
        nodes = {
            p.node.username
            for p in named[ref["namespace"], ref["name"]]
            if p.start_ns - 10**9 <= t and (p.end_ns is None or t <= p.end_ns)
        }
        assert event["user"]["username"] in nodes


def test_not_found_is_only_said_of_pods_that_are_gone(cluster: Cluster, events: list[dict[str, Any]]) -> None:
    missing = [e for e in events if e["responseStatus"]["code"] == 404]
    assert missing
    for event in missing:
        ref, t = event["objectRef"], ns(event["requestReceivedTimestamp"])
        assert not any(p.alive(t) for p in cluster.pods if (p.namespace, p.name) == (ref["namespace"], ref["name"]))


def test_the_log_ingests_through_the_k8s_audit_source(events: list[dict[str, Any]]) -> None:
    for event in events[:5000]:
        assert detect(event) is SOURCE
        assert len(list(SOURCE.normalize(event))) == 1
