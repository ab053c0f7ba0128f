"""Hubble: golden tests on real flows (expectations read off the samples by hand), trace context,
sensor stats, detection, and the records that must go to quarantine."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given

from kubetrail.ids import make_id
from kubetrail.model import KINDS, VERDICTS, Event
from kubetrail.sources import NormalizeError
from kubetrail.sources.hubble import SOURCE
from tests.conftest import FIXTURES, load_values
from tests.strategies import JSON_VALUES

OTEL = Path("hubble/hubble-otel")
EXPORTER = Path("hubble/cilium-docs/export_rst_exporter_events.log")


def _event(record: Any) -> Event:
    events = list(SOURCE.normalize(record))
    assert len(events) == 1
    return events[0]


def _flow(corpora: Path, path: Path, time: str) -> Any:
    """The record of a sample file whose flow has this time (flow times are unique per file)."""
    (record,) = [v for v in load_values(corpora / path) if v["flow"]["time"] == time]
    return record


def _extra(event: Event) -> dict[str, Any]:
    assert event.extra is not None
    extra: dict[str, Any] = json.loads(event.extra)
    return extra


def _http_flow(headers: list[dict[str, str]], **flow: Any) -> dict[str, Any]:
    return {
        "time": "2026-11-28T10:00:00Z",
        "verdict": "FORWARDED",
        "IP": {"source": "10.0.0.1", "destination": "10.0.0.2"},
        "l4": {"TCP": {"source_port": 40000, "destination_port": 80}},
        "l7": {"type": "REQUEST", "http": {"method": "GET", "url": "http://web/", "headers": headers}},
        **flow,
    }


# -- golden tests on the real samples -------------------------------------------------------------


def test_dns_query_flow(corpora: Path) -> None:
    e = _event(_flow(corpora, OTEL / "basic-sample-5-dns-flows.json", "2021-10-04T11:22:26.592280339Z"))
    node = "gke-ilya-otel-demo-2-ilya-otel-demo-2-dac8cc20-hr0z"
    assert e.time == 1_633_346_546_592_280_339
    assert e.id == make_id("hubble", node, e.time, "10.156.2.2", 59102, "10.156.2.3", 53, "FORWARDED", False)
    assert (e.source, e.kind, e.format) == ("hubble", "dns", "hubble-json")
    assert e.summary == (
        "TCP kube-system/node-local-dns-88zrp (10.156.2.2:59102) -> kube-system/kube-dns-b4f5c58c7-vnx5s (10.156.2.3:53)"
        " FORWARDED: DNS query istiod-istio-1611.istio-system.svc.istio-system.svc.cluster.local. A"
    )
    assert e.time_source is None  # the flow's own time
    assert e.dns_query == "istiod-istio-1611.istio-system.svc.istio-system.svc.cluster.local."
    assert (e.dns_ips, e.dns_rcode, e.dns_ttl) == (None, None, None)  # a query has no answer yet
    # The label says cluster "default": Cilium's name for an unnamed cluster, so no cluster is known.
    assert (e.sensor_cluster, e.node) == (None, node)
    assert (e.namespace, e.pod_name, e.service_account) == ("kube-system", "node-local-dns-88zrp", "kube-system/node-local-dns")
    assert (e.src_ip, e.src_port, e.dst_ip, e.dst_port, e.protocol) == ("10.156.2.2", 59102, "10.156.2.3", 53, "TCP")
    assert (e.verdict, e.direction, e.is_reply, e.drop_reason) == ("FORWARDED", "EGRESS", False, None)
    assert (e.src_identity, e.dst_identity, e.dst_pod_name) == (1563, 796, "kube-dns-b4f5c58c7-vnx5s")
    assert e.src_labels is not None and "k8s:k8s-app=node-local-dns" in e.src_labels
    assert _extra(e) == {
        "flow_type": "L7",
        "l7_type": "REQUEST",
        "dns_qtypes": ["A"],
        "dst_service_account": "kube-system/kube-dns",
        "hubble_summary": "DNS Query istiod-istio-1611.istio-system.svc.istio-system.svc.cluster.local. A",
    }
    assert e.raw is None


def test_dns_answer_nxdomain(corpora: Path) -> None:
    e = _event(_flow(corpora, OTEL / "basic-sample-5-dns-flows.json", "2021-10-04T11:22:26.593860659Z"))
    assert (e.kind, e.dns_rcode, e.dns_ttl, e.dns_ips, e.is_reply) == ("dns", 3, 4294967295, None, True)
    assert e.summary is not None and e.summary.endswith(
        "FORWARDED: DNS answer istiod-istio-1611.istio-system.svc.istio-system.svc.cluster.local. A NXDOMAIN"
    )
    assert (e.namespace, e.pod_name) == ("kube-system", "kube-dns-b4f5c58c7-vnx5s")  # the source endpoint


def test_dns_answer_with_ips_takes_cluster_from_policy_label(corpora: Path) -> None:
    e = _event(_flow(corpora, OTEL / "basic-sample-400-udp-flows.json", "2021-11-10T10:40:56.874054400Z"))
    assert (e.kind, e.dns_query, e.dns_ips, e.dns_ttl) == (
        "dns",
        "productpage.bookinfo.svc.cluster.local.",
        ["10.245.218.54"],
        19,
    )
    assert e.dns_rcode == 0  # protojson omits rcode 0 (NOERROR) in an answer
    assert e.summary == (
        "UDP kube-system/coredns-558bd4d5db-w2m67 (10.244.1.227:53) -> bookinfo/ratings-v1-b6994bb9-jgqxb (10.244.0.206:54314)"
        " FORWARDED: DNS answer productpage.bookinfo.svc.cluster.local. A 10.245.218.54"
    )
    assert (e.sensor_cluster, e.node, e.protocol, e.src_port) == ("kind-kind", "kind-control-plane", "UDP", 53)
    assert _extra(e)["dns_rrtypes"] == ["A"]


def test_http_request_with_b3_headers(corpora: Path) -> None:
    e = _event(_flow(corpora, OTEL / "basic-sample-348-http-flows.json", "2021-10-04T14:28:45.790829323Z"))
    assert e.time == 1_633_357_725_790_829_323
    assert (e.kind, e.http_method, e.http_url, e.http_code) == ("http", "GET", "http://productpage:9080/productpage", None)
    assert (e.trace_id, e.span_id, e.parent_span_id) == ("26dd8acda4b7f68fe07ed58885923131", "e07ed58885923131", None)
    assert e.summary == (
        "TCP bookinfo/ratings-v1-b6994bb9-4dt5c (10.156.1.12:43244) -> bookinfo/productpage-v1-6b746f74dc-ffh56"
        " (10.156.2.8:9080) FORWARDED: HTTP GET http://productpage:9080/productpage"
    )
    assert (e.namespace, e.pod_name, e.service_account) == ("bookinfo", "ratings-v1-b6994bb9-4dt5c", "bookinfo/bookinfo-ratings")
    assert (e.dst_namespace, e.dst_pod_name, e.dst_labels) == ("bookinfo", "productpage-v1-6b746f74dc-ffh56", ["reserved:world"])
    assert (e.protocol, e.direction, e.is_reply) == ("TCP", "EGRESS", False)
    extra = _extra(e)
    assert extra["http_protocol"] == "HTTP/1.1"
    assert extra["http_headers"]["X-B3-Traceid"] == "26dd8acda4b7f68fe07ed58885923131"
    assert extra["http_headers"]["User-Agent"] == "curl/7.52.1"
    assert extra["hubble_summary"] == "HTTP/1.1 GET http://productpage:9080/productpage"  # Hubble's own text


def test_http_response_code_and_latency(corpora: Path) -> None:
    e = _event(_flow(corpora, OTEL / "basic-sample-348-http-flows.json", "2021-10-04T14:28:49.868432287Z"))
    assert (e.kind, e.http_code, e.is_reply, e.trace_id) == ("http", 503, True, "26dd8acda4b7f68fe07ed58885923131")
    assert e.summary is not None and e.summary.endswith("FORWARDED: HTTP 503 GET http://productpage:9080/productpage in 4077ms")
    assert _extra(e)["hubble_summary"] == "HTTP/1.1 503 4077ms (GET http://productpage:9080/productpage)"
    assert (_extra(e)["l7_type"], _extra(e)["latency_ns"]) == ("RESPONSE", 4077768132)


def test_dropped_flow_from_exporter_splits_cluster_and_node(corpora: Path) -> None:
    (_, record) = load_values(corpora / EXPORTER)
    e = _event(record)
    assert e.time == 1_692_619_938_510_175_415
    assert e.id == make_id("hubble", "kind-kind/kind-worker", e.time, "10.244.1.60", 44916, "10.244.1.5", 80, "DROPPED", None)
    assert (e.sensor_cluster, e.node) == ("kind-kind", "kind-worker")
    assert (e.kind, e.verdict, e.drop_reason, e.is_reply, e.direction) == ("network_flow", "DROPPED", "POLICY_DENIED", None, None)
    assert (e.namespace, e.pod_name, e.dst_pod_name) == ("default", "xwing", "deathstar-7848d6c4d5-th9v2")
    assert (e.src_port, e.dst_port, e.protocol) == (44916, 80, "TCP")
    assert _extra(e) == {"tcp_flags": ["SYN"]}
    # No Summary in the exporter's flows: nothing to keep, the built one as everywhere.
    assert e.summary == (
        "TCP default/xwing (10.244.1.60:44916) -> default/deathstar-7848d6c4d5-th9v2 (10.244.1.5:80) DROPPED: POLICY_DENIED [SYN]"
    )


def test_dropped_icmpv6_flow_without_endpoints(corpora: Path) -> None:
    (record, _) = load_values(corpora / EXPORTER)
    e = _event(record)
    assert (e.protocol, e.src_ip, e.dst_ip, e.src_port, e.dst_port) == (
        "ICMPv6",
        "fe80::64d8:8aff:fe72:fc14",
        "ff02::2",
        None,
        None,
    )
    assert (e.drop_reason, e.namespace, e.pod_name, e.src_labels) == ("INVALID_SOURCE_IP", None, None, None)
    assert _extra(e) == {"icmp_type": 133}
    assert e.summary == "ICMPv6 fe80::64d8:8aff:fe72:fc14 -> ff02::2 DROPPED: INVALID_SOURCE_IP [RouterSolicitation]"


def test_icmpv4_echo_request_and_reply(corpora: Path) -> None:
    path = OTEL / "basic-sample-400-icmpv4-flows.json"
    request = _event(_flow(corpora, path, "2021-11-10T10:41:26.095336300Z"))
    assert request.time == 1_636_540_886_095_336_300
    assert (request.kind, request.protocol, request.src_port, request.dst_port) == ("network_flow", "ICMPv4", None, None)
    assert (request.src_labels, request.dst_labels, request.src_identity) == (["reserved:host"], ["reserved:health"], 1)
    assert (request.is_reply, request.summary, request.node, request.sensor_cluster) == (
        False,
        "ICMPv4 10.244.0.148 -> 10.244.0.160 FORWARDED [EchoRequest]",
        "kind-control-plane",
        None,
    )
    assert _extra(request) == {
        "flow_type": "L3_L4",
        "observation_point": "TO_ENDPOINT",
        "interface": "lxc_health",
        "icmp_type": 8,
        "hubble_summary": "ICMPv4 EchoRequest",
    }
    reply = _event(_flow(corpora, path, "2021-11-10T10:41:26.095357Z"))
    # protojson leaves out ICMP type 0: an echo reply.
    assert (reply.time, reply.is_reply) == (1_636_540_886_095_357_000, True)
    assert reply.summary == "ICMPv4 10.244.0.160 -> 10.244.0.148 FORWARDED [EchoReply]"


def test_older_reply_field_counts_when_is_reply_is_absent(corpora: Path) -> None:
    e = _event(_flow(corpora, OTEL / "basic-sample-10-flows.json", "2021-06-16T16:52:13.136834446Z"))
    assert (e.is_reply, e.summary) == (
        True,
        "TCP bookinfo/reviews-v1-545db77b95-s6jb8 (10.0.2.16:15020) -> 10.0.2.1:42044 FORWARDED [FIN, ACK]",
    )
    assert _extra(e)["hubble_summary"] == "TCP Flags: ACK, FIN"
    assert _extra(e)["tcp_flags"] == ["FIN", "ACK"]


def test_every_hubble_sample_normalizes(corpora: Path) -> None:
    files = sorted(p for p in (corpora / "hubble").rglob("*") if p.is_file() and p.suffix in (".json", ".log"))
    assert len(files) == 8
    total = 0
    for path in files:
        for record in load_values(path):
            assert SOURCE.detect(record), path
            e = _event(record)
            assert e.time > 0 and e.kind in KINDS and e.verdict in VERDICTS, path
            total += 1
    assert total == 1188


# -- shapes, trace context and sensor stats -------------------------------------------------------


def test_bare_flow_equals_the_wrapped_one(corpora: Path) -> None:
    record = _flow(corpora, OTEL / "basic-sample-5-dns-flows.json", "2021-10-04T11:22:26.592280339Z")
    assert _event(record["flow"]) == _event(record)


def test_uuid_is_the_identity_when_present() -> None:
    e = _event({"flow": _http_flow([], uuid="6c1f7d7e-2f0a-4c7e-9a55-0d5f2b8e1a11")})
    assert e.id == make_id("hubble", "6c1f7d7e-2f0a-4c7e-9a55-0d5f2b8e1a11")


def test_traceparent_header() -> None:
    e = _event(_http_flow([{"key": "traceparent", "value": "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01"}]))
    assert (e.trace_id, e.span_id) == ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")


def test_single_b3_header_with_64_bit_trace_id_is_padded() -> None:
    e = _event(_http_flow([{"key": "b3", "value": "a3ce929d0e0e4736-00f067aa0ba902b7-1-53995c3f42cd8ad8"}]))
    assert (e.trace_id, e.span_id, e.parent_span_id) == (
        "0000000000000000a3ce929d0e0e4736",
        "00f067aa0ba902b7",
        "53995c3f42cd8ad8",
    )


def test_hubble_trace_context_wins_and_foreign_header_span_is_not_taken() -> None:
    own = {"trace_context": {"parent": {"trace_id": "0af7651916cd43dd8448eb211c80319c"}}}
    headers = [{"key": "traceparent", "value": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}]
    e = _event(_http_flow(headers, **own))
    assert (e.trace_id, e.span_id) == ("0af7651916cd43dd8448eb211c80319c", None)


def test_invalid_trace_ids_are_ignored() -> None:
    zero = [{"key": "traceparent", "value": "00-00000000000000000000000000000000-00f067aa0ba902b7-01"}]
    assert _event(_http_flow(zero)).trace_id is None
    assert _event(_http_flow([{"key": "X-B3-TraceId", "value": "not-hex"}])).trace_id is None


def test_sensitive_headers_stay_out_of_extra() -> None:
    headers = [{"key": "Authorization", "value": "<redacted>"}, {"key": "Accept", "value": "a"}, {"key": "Accept", "value": "b"}]
    assert _extra(_event(_http_flow(headers)))["http_headers"] == {"Accept": "a, b"}


def test_workloads_services_names_and_endpoint_cluster() -> None:
    flow = _http_flow(
        [],
        source={
            "namespace": "shop",
            "pod_name": "web-1",
            "cluster_name": "prod",
            "workloads": [{"name": "web", "kind": "Deployment"}],
        },
        destination={"namespace": "shop", "workloads": [{"name": "db", "kind": "StatefulSet"}]},
        destination_names=["db.example.com"],
        destination_service={"name": "db", "namespace": "shop"},
        egress_denied_by=[{"name": "deny-db", "namespace": "shop"}],
    )
    e = _event(flow)
    assert (e.sensor_cluster, e.workload_kind, e.workload_name) == ("prod", "Deployment", "web")
    assert (e.src_workload, e.dst_workload) == ("Deployment/web", "StatefulSet/db")
    assert (e.dst_names, e.dst_service) == (["db.example.com"], "shop/db")
    assert _extra(e)["egress_denied_by"] == ["shop/deny-db"]


@pytest.mark.parametrize(("direction", "reply"), [("EGRESS", False), ("EGRESS", True), ("INGRESS", False), ("INGRESS", True)])
def test_a_mesh_peer_keeps_its_cluster_as_an_endpoint_attribute(direction: str, reply: bool) -> None:
    # Observed in cluster 'east' (plain node name): the endpoint on this node is the source of an
    # outgoing connection and of the replies to an incoming one; the peer is in 'west'.
    here = {"namespace": "shop", "pod_name": "web-1", "labels": ["k8s:io.cilium.k8s.policy.cluster=east"]}
    peer = {"namespace": "shop", "pod_name": "db-0", "labels": ["k8s:io.cilium.k8s.policy.cluster=west"]}
    outgoing_src = (direction == "EGRESS") != reply
    src, dst = (here, peer) if outgoing_src else (peer, here)
    e = _event(_http_flow([], source=src, destination=dst, traffic_direction=direction, is_reply=reply, node_name="node-1"))
    assert e.sensor_cluster == "east"
    extra = _extra(e)
    assert {extra["src_cluster"], extra["dst_cluster"]} == {"east", "west"}


def test_no_sensor_cluster_when_the_record_names_none(corpora: Path) -> None:
    record = _flow(corpora, OTEL / "basic-sample-5-dns-flows.json", "2021-10-04T11:22:26.592280339Z")
    assert (_event(record).sensor_cluster, _event(record).cluster) == (None, None)  # the pipeline names it


def test_lost_events_are_sensor_stats_with_a_drop_count() -> None:
    record = {
        "lost_events": {"source": "HUBBLE_RING_BUFFER", "num_events_lost": "42", "cpu": 3},
        "node_name": "prod/worker-1",
        "time": "2026-11-28T10:00:00Z",
    }
    assert SOURCE.detect(record)
    e = _event(record)
    assert (e.kind, e.drop_count, e.sensor_source) == ("sensor_stats", 42, "lost_events")
    assert (e.sensor_cluster, e.node) == ("prod", "worker-1")
    assert e.summary == "Hubble lost 42 events (HUBBLE_RING_BUFFER)"
    assert e.time == 1_795_860_000_000_000_000


def test_node_status_is_sensor_stats_without_drop_count() -> None:
    record = {
        "node_status": {"state_change": "NODE_UNAVAILABLE", "node_names": ["kind-worker"], "message": "connection refused"},
        "time": "2026-11-28T10:00:00Z",
    }
    e = _event(record)
    assert (e.kind, e.drop_count, e.summary) == (
        "sensor_stats",
        None,
        "Hubble node status NODE_UNAVAILABLE kind-worker connection refused",
    )


def test_pipeline_fixture_flow_with_uuid_and_redacted_headers() -> None:
    (record,) = load_values(FIXTURES / "pipeline/hubble-auth.json")
    e = _event(record)
    assert (e.sensor_cluster, e.node, e.trace_id, e.span_id) == (
        "prod-eu",
        "worker-2",
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "00f067aa0ba902b7",
    )


# -- detection ------------------------------------------------------------------------------------


def test_detect_rejects_every_other_corpus(corpora: Path) -> None:
    # k8s audit events and lists, GKE/AKS/EKS records, Falco alerts, Tetragon events, OTLP requests.
    files = [p for p in corpora.rglob("*") if p.is_file() and p.name != "MANIFEST.md" and "hubble" not in p.parts]
    records = [record for path in files for record in load_values(path)]
    assert len(records) > 100
    assert not any(SOURCE.detect(record) for record in records)


def test_detect_rejects_audit_event_lists() -> None:
    assert not SOURCE.detect({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": []})
    assert not SOURCE.detect({"process_exec": {"process": {}}, "node_name": "n1", "time": "2026-11-28T10:00:00Z"})


_TRIGGERS = {"flow", "IP", "l4", "ethernet", "l7", "lost_events", "node_status", "agent_event", "debug_event"}


@given(JSON_VALUES)
def test_detect_never_raises_and_rejects_random_values(value: Any) -> None:
    result = SOURCE.detect(value)
    assert isinstance(result, bool)
    if not (isinstance(value, dict) and _TRIGGERS & value.keys()):
        assert result is False


# -- quarantine -----------------------------------------------------------------------------------


def test_flow_without_time_is_a_normalize_error(corpora: Path) -> None:
    record = copy.deepcopy(_flow(corpora, OTEL / "basic-sample-5-dns-flows.json", "2021-10-04T11:22:26.592280339Z"))
    del record["flow"]["time"], record["time"]
    with pytest.raises(NormalizeError, match=r"neither flow\.time nor time"):
        SOURCE.normalize(record)


def test_bad_time_and_non_objects_are_normalize_errors() -> None:
    with pytest.raises(NormalizeError, match="RFC 3339"):
        SOURCE.normalize(_http_flow([], time="yesterday"))
    with pytest.raises(NormalizeError, match="JSON object"):
        SOURCE.normalize(["not", "a", "flow"])
    with pytest.raises(NormalizeError, match="no time"):
        SOURCE.normalize({"lost_events": {"num_events_lost": "1"}})


def test_only_l7_flows_and_unknown_shapes_are_scanned_for_secrets() -> None:
    from kubetrail.sources.hubble import may_hold_secrets

    l4 = {"time": "2026-11-28T10:00:00Z", "verdict": "FORWARDED", "l4": {"TCP": {"destination_port": 443}}}
    wrapped = {"flow": l4, "node_name": "c/n", "time": l4["time"]}
    assert may_hold_secrets(wrapped) is False
    http = {"flow": l4 | {"l7": {"http": {"headers": [{"key": "Authorization", "value": "Bearer x"}]}}}}
    assert may_hold_secrets(http) is True
    assert may_hold_secrets({"flow": l4 | {"extensions": {"token": "x"}}}) is True
    assert may_hold_secrets(wrapped | {"token": "x"}) is True  # a wrapper key beyond the exporter's
    assert may_hold_secrets(l4) is True  # a bare flow (hubble observe -o json): scanned


# -- optional fields: protojson leaves out whatever is empty ----------------------------------------

DNS_QUERY = (OTEL / "basic-sample-5-dns-flows.json", "2021-10-04T11:22:26.592280339Z")


def test_flow_with_its_time_only_in_the_envelope(corpora: Path) -> None:
    record = copy.deepcopy(_flow(corpora, *DNS_QUERY))
    del record["flow"]["time"]
    e = _event(record)
    assert (e.time, e.time_source) == (1_633_346_546_592_280_339, "time")
    assert e.id == _event(_flow(corpora, *DNS_QUERY)).id  # the same stamp: the same flow


def test_bare_flow_without_verdict_is_detected_and_read(corpora: Path) -> None:
    flow = copy.deepcopy(_flow(corpora, *DNS_QUERY)["flow"])
    del flow["verdict"]  # VERDICT_UNKNOWN is the zero value: protojson leaves it out
    assert SOURCE.detect(flow)
    e = _event(flow)
    assert (e.verdict, e.kind, e.time_source) == (None, "dns", None)
    assert e.summary is not None and " (10.156.2.3:53): DNS query istiod" in e.summary


def test_masked_flow_without_addresses_endpoints_or_node_is_read(corpora: Path) -> None:
    # An exporter field mask (or a flow of another type) keeps only some fields.
    record = copy.deepcopy(_flow(corpora, *DNS_QUERY))
    for key in ("IP", "l4", "source", "destination", "node_name", "l7", "Summary", "Type"):
        record["flow"].pop(key, None)
    del record["node_name"]
    e = _event(record)
    assert (e.src_ip, e.dst_ip, e.protocol, e.namespace, e.node, e.kind) == (None, None, None, None, None, "network_flow")
    assert e.summary == "IP ? -> ? FORWARDED"


def test_destination_names_and_omitted_zero_values_in_the_summary() -> None:
    flow = _http_flow([], destination_names=["api.example.com"], source={"namespace": "shop", "pod_name": "web-1"})
    flow["l7"] = {"type": "RESPONSE", "http": {"method": "GET", "url": "http://api.example.com/"}}  # code 0 left out
    e = _event(flow)
    assert (e.http_code, e.kind) == (None, "http")
    assert (
        e.summary
        == "TCP shop/web-1 (10.0.0.1:40000) -> api.example.com (10.0.0.2:80) FORWARDED: HTTP GET http://api.example.com/"
    )


def test_kafka_gist_in_the_summary() -> None:
    flow = _http_flow([])
    flow["l7"] = {"type": "REQUEST", "kafka": {"api_key": "produce", "topic": "orders"}}
    assert _event(flow).summary == "TCP 10.0.0.1:40000 -> 10.0.0.2:80 FORWARDED: Kafka produce orders"


def test_lost_events_without_a_count_lost_zero() -> None:
    record = {"lost_events": {"source": "PERF_EVENT_RING_BUFFER"}, "time": "2026-11-28T10:00:00Z"}
    e = _event(record)
    assert (e.drop_count, e.node, e.summary) == (0, None, "Hubble lost 0 events (PERF_EVENT_RING_BUFFER)")
