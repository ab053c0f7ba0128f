"""simulate.network: Hubble flows and OTLP traces written from the cluster model, checked against
the model and against the real Hubble and OpenTelemetry records of the corpora; the flows with
the mess of a Relay export: each node's clock, lines a little late, a few flows twice."""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest

from kubetrail.ingest.pipeline import Options, ingest
from kubetrail.simulate.clock import MAX_LATE_NS
from kubetrail.simulate.cluster import Cluster, Pod, build_cluster
from kubetrail.simulate.network import JOBS, Job, write_hubble, write_otlp
from kubetrail.store.duckdb import DuckDBStore
from kubetrail.timeutil import parse_rfc3339 as ns
from tests.conftest import load_values
from tests.simulate.test_audit import key_paths, offsets, without_drift

START = ns("2026-03-02T08:00:00Z")
HOURS = 12.0
FLOWS = 30_000
REQUESTS = 3_000

# Flow fields no corpus sample happens to carry, each in Cilium's flow.proto: Flow.uuid (a
# unique id per flow, since v1.14) and Endpoint.workloads (the endpoint's owning controllers).
HUBBLE_DOCUMENTED = {
    "flow.uuid", "flow.source.workloads", "flow.source.workloads[].name", "flow.source.workloads[].kind",
    "flow.destination.workloads", "flow.destination.workloads[].name", "flow.destination.workloads[].kind",
}  # fmt: skip
# OTLP AnyValue.intValue: the corpus has it on log attributes, not yet on span attributes.
OTLP_DOCUMENTED = {"resourceSpans[].scopeSpans[].spans[].attributes[].value.intValue"}
# Attribute keys of the OpenTelemetry semantic conventions (resource: service, k8s, container;
# span: http, url, client, server, user_agent, enduser) that the corpus's examples do not use.
SEMCONV_KEYS = {
    "service.name", "service.namespace", "k8s.namespace.name", "k8s.pod.name", "k8s.pod.uid", "k8s.node.name",
    "k8s.deployment.name", "container.id",
    "http.request.method", "http.route", "http.response.status_code", "url.path", "url.scheme", "url.full",
    "client.address", "server.address", "server.port", "user_agent.original", "enduser.id",
}  # fmt: skip
UUID4 = re.compile(r"\A[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\Z")


@pytest.fixture(scope="module")
def cluster() -> Cluster:
    return build_cluster(11, START, HOURS)


@pytest.fixture(scope="module")
def flows_file(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hubble") / "flows.json"
    assert write_hubble(path, cluster=cluster, events=FLOWS, seed=5) == FLOWS
    return path


@pytest.fixture(scope="module")
def traces_file(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("otlp") / "traces.json"
    assert write_otlp(path, cluster=cluster, requests=REQUESTS, seed=5) == 3 * REQUESTS
    return path


@pytest.fixture(scope="module")
def flows(flows_file: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in flows_file.read_bytes().splitlines()]


@pytest.fixture(scope="module")
def in_time(flows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The flows once each, by the time printed (a request and its reply share a node's clock)."""
    once = {f["flow"]["uuid"]: f for f in flows}
    return sorted(once.values(), key=lambda f: ns(f["time"]))


@pytest.fixture(scope="module")
def traces(traces_file: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in traces_file.read_bytes().splitlines()]


def paths_of(values: list[Any]) -> set[str]:
    paths: set[str] = set()
    for value in values:
        key_paths(value, into=paths)
    return paths


def real_values(corpora: Path, source: str) -> list[Any]:
    return [v for f in sorted((corpora / source).rglob("*")) if f.is_file() for v in load_values(f)]


def pods_by_name(cluster: Cluster) -> dict[tuple[str, str], list[Pod]]:
    named: dict[tuple[str, str], list[Pod]] = {}
    for pod in cluster.pods:
        named.setdefault((pod.namespace, pod.name), []).append(pod)
    return named


def pod_at(named: dict[tuple[str, str], list[Pod]], namespace: str, name: str, t: int) -> Pod:
    alive = [p for p in named[namespace, name] if p.alive(t)]
    assert len(alive) == 1, f"{namespace}/{name} is not alive at {t}"
    return alive[0]


def late_lines(times: list[int]) -> int:
    """How many lines come after one stamped later; none by more than `MAX_LATE_NS`."""
    latest, late = times[0], 0
    for t in times:
        assert t >= latest - MAX_LATE_NS, (t, latest)
        late += t < latest
        latest = max(latest, t)
    return late


def observer_offset(cluster: Cluster, record: dict[str, Any]) -> int:
    """The clock offset of the node that observed a flow (node_name: cluster/node)."""
    return offsets(cluster)[record["node_name"].partition("/")[2]]


def repeated(lines: list[bytes]) -> list[list[bytes]]:
    """The lines of each flow uuid delivered more than once."""
    by_uuid: dict[str, list[bytes]] = defaultdict(list)
    for line in lines:
        by_uuid[orjson.loads(line)["flow"]["uuid"]].append(line)
    return [same for same in by_uuid.values() if len(same) > 1]


def spans(document: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(g["resource"], s) for g in document["resourceSpans"] for sc in g["scopeSpans"] for s in sc["spans"]]


def attrs(kvs: list[dict[str, Any]]) -> dict[str, Any]:
    return {kv["key"]: next(iter(kv["value"].values())) for kv in kvs}


# ---- files -----------------------------------------------------------------------------------


def test_the_same_seed_writes_the_same_bytes_and_another_seed_others(cluster: Cluster, tmp_path: Path) -> None:
    for write, kw in ((write_hubble, "events"), (write_otlp, "requests")):
        paths = [tmp_path / f"{kw}{i}" for i in range(3)]
        for path, seed in zip(paths, (1, 1, 2), strict=True):
            write(path, cluster=cluster, seed=seed, **{kw: 2000})
        assert paths[0].read_bytes() == paths[1].read_bytes()
        assert paths[0].read_bytes() != paths[2].read_bytes()


@pytest.mark.parametrize("count", [0, 1, 2, 3, 5, 1001])
def test_exactly_the_requested_number_is_written(cluster: Cluster, tmp_path: Path, count: int) -> None:
    path = tmp_path / "out"
    assert write_hubble(path, cluster=cluster, events=count, seed=9) == count
    assert len(path.read_bytes().splitlines()) == count
    assert write_otlp(path, cluster=cluster, requests=count, seed=9) == 3 * count
    assert len(path.read_bytes().splitlines()) == count


# ---- the shape of real records -------------------------------------------------------------------


def test_every_flow_key_path_is_one_real_hubble_records_have(corpora: Path, flows: list[dict[str, Any]]) -> None:
    assert paths_of(flows) - paths_of(real_values(corpora, "hubble")) - HUBBLE_DOCUMENTED == set()


def test_every_otlp_key_path_is_one_real_otlp_requests_have(corpora: Path, traces: list[dict[str, Any]]) -> None:
    assert paths_of(traces) - paths_of(real_values(corpora, "otel")) - OTLP_DOCUMENTED == set()
    keys = {kv["key"] for doc in traces for res, span in spans(doc) for kv in res["attributes"] + span["attributes"]}
    assert keys <= SEMCONV_KEYS


def test_flows_arrive_nearly_in_time_order_with_a_uuid_each(cluster: Cluster, flows: list[dict[str, Any]]) -> None:
    late = late_lines([ns(f["time"]) for f in flows])
    assert 0 < late < len(flows) * 0.06
    assert all(f["flow"]["time"] == f["time"] and UUID4.match(f["flow"]["uuid"]) for f in flows)
    assert len({f["flow"]["uuid"] for f in flows}) > len(flows) * 0.97
    assert all(f["node_name"].startswith(f"{cluster.name}/") for f in flows)


def test_a_few_flows_are_delivered_twice_byte_for_byte(flows_file: Path) -> None:
    lines = flows_file.read_bytes().splitlines()
    twice = repeated(lines)
    assert 0 < len(twice) < len(lines) * 0.03
    assert all(len(same) == 2 and same[0] == same[1] for same in twice)


def test_flows_are_stamped_by_the_clock_of_the_node_that_observed_them(cluster: Cluster, tmp_path: Path) -> None:
    # the same flows from a cluster whose clocks are right carry the true times
    write_hubble(tmp_path / "skewed", cluster=cluster, events=4000, seed=3)
    write_hubble(tmp_path / "true", cluster=without_drift(cluster), events=4000, seed=3)
    true = {f["flow"]["uuid"]: f for f in map(orjson.loads, (tmp_path / "true").read_bytes().splitlines())}
    checked, seen = 0, set()
    for record in map(orjson.loads, (tmp_path / "skewed").read_bytes().splitlines()):
        flow, twin = record["flow"], true.get(record["flow"]["uuid"])
        if twin is None:  # the last few lines: delivered in another order, cut elsewhere
            continue
        seen.add(observer_offset(cluster, record))
        assert ns(record["time"]) - ns(twin["time"]) == observer_offset(cluster, record)
        assert flow == twin["flow"] | {"time": record["time"]}
        checked += 1
    assert checked > 3900 and len(seen) > 1


def test_the_traffic_mix_has_connections_lookups_and_the_outside_world(flows: list[dict[str, Any]]) -> None:
    queries = {f["flow"]["l7"]["dns"]["query"] for f in flows if "l7" in f["flow"]}
    assert "kube-dns" not in queries and all(q.endswith(".") for q in queries)
    assert any(q.endswith(".svc.cluster.local.") for q in queries)
    assert any(not q.endswith(".cluster.local.") for q in queries)
    world = [f for f in flows if f["flow"]["destination"].get("labels") == ["reserved:world"]]
    assert world and all(f["flow"]["destination"]["identity"] == 2 for f in world)
    assert {f["flow"]["l4"]["TCP"]["destination_port"] for f in flows if "TCP" in f["flow"]["l4"]} >= {8080, 5432, 6379, 443}


# ---- consistent with the model ---------------------------------------------------------------------


def test_every_flow_endpoint_is_a_pod_alive_then_with_its_ip_of_then(cluster: Cluster, flows: list[dict[str, Any]]) -> None:
    named, checked = pods_by_name(cluster), 0
    for record in flows:
        flow, t = record["flow"], ns(record["time"]) - observer_offset(cluster, record)  # true time
        for side in ("source", "destination"):
            endpoint = flow[side]
            if "pod_name" in endpoint:
                pod = pod_at(named, endpoint["namespace"], endpoint["pod_name"], t)
                assert flow["IP"][side] == pod.ip
                assert f"k8s:io.cilium.k8s.policy.serviceaccount={pod.workload.service_account.name}" in endpoint["labels"]
                assert endpoint["workloads"] == [{"name": pod.workload.name, "kind": pod.workload.kind}]
                checked += 1
    assert checked > FLOWS


def test_flows_fall_within_the_period_in_true_time(cluster: Cluster, flows: list[dict[str, Any]]) -> None:
    true = [ns(f["time"]) - observer_offset(cluster, f) for f in flows]
    assert cluster.start_ns <= min(true) and max(true) < cluster.end_ns


def test_a_reply_swaps_the_endpoints_of_its_request(in_time: list[dict[str, Any]]) -> None:
    requests: dict[tuple[str, int, str, int], dict[str, Any]] = {}
    replies = 0
    for record in in_time:
        flow = record["flow"]
        (l4,) = flow["l4"].values()
        key = (flow["IP"]["source"], l4["source_port"], flow["IP"]["destination"], l4["destination_port"])
        if not flow["is_reply"]:
            requests[key] = flow
            continue
        request = requests.pop((key[2], key[3], key[0], key[1]))
        assert (flow["source"], flow["destination"]) == (request["destination"], request["source"])
        assert flow["traffic_direction"] == request["traffic_direction"] == "EGRESS"
        if "TCP" in flow["l4"]:
            assert request["l4"]["TCP"]["flags"] == {"SYN": True} and l4["flags"] == {"SYN": True, "ACK": True}
        elif "l7" in flow:
            assert flow["l7"]["type"] == "RESPONSE" and flow["l7"]["dns"]["rcode"] == 0 and flow["l7"]["dns"]["ips"]
        else:  # an NTP answer
            assert (flow["Type"], flow["Summary"], request["Summary"], l4["source_port"]) == ("L3_L4", "UDP", "UDP", 123)
        replies += 1
    assert replies > FLOWS // 3


def test_connections_go_to_the_addresses_dns_answered(in_time: list[dict[str, Any]]) -> None:
    answered: set[str] = set()
    for record in in_time:
        flow = record["flow"]
        if "l7" in flow and flow["is_reply"]:
            answered.update(flow["l7"]["dns"]["ips"])
        elif flow["destination"].get("labels") == ["reserved:world"]:
            assert flow["IP"]["destination"] in answered


def test_every_span_is_in_a_pod_alive_at_its_start(cluster: Cluster, traces: list[dict[str, Any]]) -> None:
    by_uid = {p.uid: p for p in cluster.pods}
    users = 0
    for document in traces:
        found = spans(document)
        assert [s["kind"] for _, s in found] == [2, 3, 2]
        assert len({s["traceId"] for _, s in found}) == 1
        assert found[1][1]["parentSpanId"] == found[0][1]["spanId"] and found[2][1]["parentSpanId"] == found[1][1]["spanId"]
        true_starts = []
        for resource, span in found:
            res = attrs(resource["attributes"])
            pod = by_uid[res["k8s.pod.uid"]]
            start, end = int(span["startTimeUnixNano"]), int(span["endTimeUnixNano"])
            true_starts.append(start - pod.node.clock_offset_ns)  # each span on its node's clock
            assert pod.alive(true_starts[-1]) and start <= end
            assert (res["k8s.pod.name"], res["k8s.node.name"]) == (pod.name, pod.node.name)
            assert res["container.id"] == pod.containers[0].container_id
            assert re.fullmatch(r"[0-9a-f]{32}", span["traceId"]) and re.fullmatch(r"[0-9a-f]{16}", span["spanId"])
        assert true_starts == sorted(true_starts)  # the request, its call, the call served
        web = attrs(found[0][1]["attributes"])
        api = attrs(found[2][1]["attributes"])
        web_pod = by_uid[attrs(found[0][0]["attributes"])["k8s.pod.uid"]]
        assert web_pod.workload.name == "frontend" and api["client.address"] == web_pod.ip
        assert re.fullmatch(r"[1-5]\d\d", web["http.response.status_code"])
        users += "enduser.id" in web
    assert 0 < users < len(traces)


def test_spans_are_stamped_by_the_clock_of_their_pods_node(cluster: Cluster, tmp_path: Path) -> None:
    write_otlp(tmp_path / "skewed", cluster=cluster, requests=500, seed=3)
    write_otlp(tmp_path / "true", cluster=without_drift(cluster), requests=500, seed=3)
    skewed, true = ((tmp_path / name).read_bytes().splitlines() for name in ("skewed", "true"))
    seen = set()
    for line, twin in zip(skewed, true, strict=True):
        for (resource, span), (_, true_span) in zip(spans(orjson.loads(line)), spans(orjson.loads(twin)), strict=True):
            offset = offsets(cluster)[attrs(resource["attributes"])["k8s.node.name"]]
            seen.add(offset)
            for key in ("startTimeUnixNano", "endTimeUnixNano"):
                assert int(span[key]) - int(true_span[key]) == offset
    assert len(seen) > 1


# ---- ingest --------------------------------------------------------------------------------------


def test_both_files_ingest_with_nothing_quarantined_and_repeats_as_duplicates(
    flows_file: Path, traces_file: Path, tmp_path: Path
) -> None:
    store = DuckDBStore(tmp_path / "store.duckdb")
    try:
        summary = ingest(store, [str(flows_file), str(traces_file)], Options())
    finally:
        store.close()
    twice = len(repeated(flows_file.read_bytes().splitlines()))
    assert summary.quarantined == 0 and summary.conflicts == 0 and summary.duplicates == twice > 0
    assert summary.ingested == {"hubble": FLOWS - twice, "otel": 3 * REQUESTS}


# ---- the jobs: benign look-alikes of a beacon ----------------------------------------------------


def job_runs(in_time: list[dict[str, Any]], name: str) -> dict[str, list[int]]:
    """Per client pod, the times of its requests to the addresses DNS answered for `name`."""
    answered: set[str] = set()
    runs: dict[str, list[int]] = defaultdict(list)
    for record in in_time:
        flow = record["flow"]
        if "l7" in flow and flow["is_reply"] and flow["l7"]["dns"]["query"] == name:
            answered.update(flow["l7"]["dns"]["ips"])
        elif not flow["is_reply"] and "l7" not in flow and flow["IP"]["destination"] in answered:
            runs[f"{flow['source']['namespace']}/{flow['source']['pod_name']}"].append(ns(record["time"]))
    return runs


def lifetime(cluster: Cluster, pod: Pod) -> int:
    return min(pod.end_ns or cluster.end_ns, cluster.end_ns) - max(pod.start_ns, cluster.start_ns)


@pytest.mark.parametrize("job", JOBS, ids=lambda j: j.name)
def test_every_replica_runs_each_job_at_its_rhythm_with_a_schedulers_jitter(
    cluster: Cluster, in_time: list[dict[str, Any]], job: Job
) -> None:
    runs = job_runs(in_time, job.name)
    running = [p for p in cluster.pods if p.workload.key in job.workloads and lifetime(cluster, p) > 4 * job.every]
    assert len({p.workload.key for p in running}) == len(job.workloads), job.name
    for pod in running:
        times = sorted(runs[f"{pod.namespace}/{pod.name}"])
        if job.name == "payments-receipts.s3.us-east-1.amazonaws.com." and pod.workload.key == "payments/payments-api":
            continue  # it also writes receipts there, as its requests come
        gaps = [b - a for a, b in itertools.pairwise(times)]
        mean = sum(gaps) / len(gaps)
        deviation = (sum((g - mean) ** 2 for g in gaps) / len(gaps)) ** 0.5
        assert abs(mean - job.every) < 0.06 * job.every, (job.name, pod.name, mean)
        assert 0 < deviation < 0.1 * mean, (job.name, pod.name, deviation)  # a scheduler's jitter, not a metronome


def test_the_object_store_answers_one_of_many_addresses_at_a_time(flows: list[dict[str, Any]]) -> None:
    (sync,) = (j for j in JOBS if j.rotating)
    answers = [f["flow"]["l7"]["dns"]["ips"] for f in flows
               if "l7" in f["flow"] and f["flow"]["is_reply"] and f["flow"]["l7"]["dns"]["query"] == sync.name]  # fmt: skip
    assert len(answers) > 20 and all(len(ips) == 1 for ips in answers)
    assert len({ip for ips in answers for ip in ips}) >= 8


def test_jobs_take_at_most_a_third_of_a_small_output_and_the_rest_is_left_out(cluster: Cluster, tmp_path: Path) -> None:
    path = tmp_path / "small"
    assert write_hubble(path, cluster=cluster, events=3000, seed=5) == 3000
    queries = {orjson.loads(line)["flow"].get("l7", {}).get("dns", {}).get("query") for line in path.read_bytes().splitlines()}
    # 12 h of the sync and the licence check fit in a third of 3,000 lines, the metrics push not
    assert "license.riskgate.io." in queries and "otlp.nr-data.net." not in queries
