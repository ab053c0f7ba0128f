"""Cilium Hubble: `hubble observe -o json|jsonpb` lines and Hubble exporter files.

A record is a `GetFlowsResponse` line `{"flow": {...}, "node_name": ..., "time": ...}` (observe and
exporter print the same shape), a bare `Flow` object (older `hubble observe -o json`), or one of
the non-flow payloads `lost_events`, `node_status`, `agent_event`, `debug_event`. Flows become
`network_flow`, `dns` or `http` events; the others become `sensor_stats` (lost events carry their
count in `drop_count`, so `status` can report Hubble's own losses).

Field names are Hubble's proto names (`source_port`, `is_reply`, `drop_reason_desc`), as both
producers print them. Trace context of HTTP flows comes from Hubble's `trace_context` and from the
W3C `traceparent` and B3 headers; 64-bit B3 trace ids are left-padded to 32 hex digits, as
OpenTelemetry's B3 propagator does, so they join with OTel spans.

protojson leaves out every zero value and empty field (a `VERDICT_UNKNOWN` flow has no `verdict`,
an exporter's field mask drops more), so no single field is required to recognise a flow. A
flow's time is its own `flow.time`; a wrapped flow without it takes the envelope's `time`
(`time_source` says so); a flow with neither is a NormalizeError.

The event summary is kubetrail's own sentence: `TCP shop/cart-6d4f (10.244.1.5:40321) ->
198.51.100.23:3333 FORWARDED [SYN]`, the drop reason or the L7 gist after a colon (`: DNS query
pool.example.net. A`, `: HTTP GET http://...`), the TCP flags or the ICMP message in brackets.
Hubble's own `Summary` text, where present, is kept in `extra` as `hubble_summary`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

import orjson

from kubetrail.ids import make_id
from kubetrail.model import Event
from kubetrail.sources import NormalizeError, Source
from kubetrail.sources._json import integer, obj, text, texts
from kubetrail.timeutil import TimeError, parse_rfc3339

FORMAT: Final = "hubble-json"
_NON_FLOW: Final = ("lost_events", "node_status", "agent_event", "debug_event")
# A bare Flow (older `hubble observe -o json`): one of its packet objects beside one of its other keys.
_FLOW_OBJECTS: Final = ("IP", "l4", "ethernet", "l7")
_FLOW_KEYS: Final = ("verdict", "Type", "event_type", "time", "node_name", "source", "destination", "is_reply")
_L4: Final = ("TCP", "UDP", "SCTP", "ICMPv4", "ICMPv6")
_UNKNOWN: Final = frozenset({"VERDICT_UNKNOWN", "DROP_REASON_UNKNOWN", "TRAFFIC_DIRECTION_UNKNOWN", ""})
_SA_LABEL: Final = "k8s:io.cilium.k8s.policy.serviceaccount="
_CLUSTER_LABEL: Final = "k8s:io.cilium.k8s.policy.cluster="
# Cilium names a cluster "default" when none was configured: that says nothing about the cluster.
_UNNAMED_CLUSTER: Final = "default"
_SENSITIVE_HEADERS: Final = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
_POLICY_KEYS: Final = ("ingress_allowed_by", "egress_allowed_by", "ingress_denied_by", "egress_denied_by")
_HEX: Final = re.compile(r"[0-9a-f]+")
_TRACEPARENT: Final = re.compile(r"[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})(?:-[0-9a-f]{2})?")


def detect(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    if isinstance(value.get("flow"), dict):
        return True
    if any(isinstance(value.get(k), dict) for k in _NON_FLOW):
        return True
    return any(isinstance(value.get(k), dict) for k in _FLOW_OBJECTS) and any(k in value for k in _FLOW_KEYS)


def normalize(value: Any) -> list[Event]:
    if not isinstance(value, dict):
        raise NormalizeError("not a Hubble record: expected a JSON object")
    flow = value.get("flow")
    if isinstance(flow, dict):
        return [_flow_event(flow, value)]
    for key in _NON_FLOW:
        payload = value.get(key)
        if isinstance(payload, dict):
            return [_stats_event(key, payload, value)]
    return [_flow_event(value, value)]


# --- small readers of JSON values -------------------------------------------------------------


def _enum(v: Any) -> str | None:
    return v if isinstance(v, str) and v not in _UNKNOWN else None


def _time(stamp: Any) -> int:
    if not isinstance(stamp, str) or not stamp:
        raise NormalizeError("Hubble record has no time")
    try:
        return parse_rfc3339(stamp)
    except TimeError as exc:
        raise NormalizeError(f"Hubble record time: {exc}") from exc


def _flow_time(flow: dict[str, Any], envelope: dict[str, Any]) -> tuple[int, str | None]:
    """`flow.time`, else the envelope's `time` (the same stamp, copied by the observer)."""
    own = flow.get("time")
    if own is not None or flow is envelope:
        return _time(own), None
    if envelope.get("time") is None:
        raise NormalizeError("Hubble record has no time: neither flow.time nor time")
    return _time(envelope["time"]), "time"


def _split_node(node_name: str | None) -> tuple[str | None, str | None]:
    """'cluster/node' -> (cluster, node); 'node' -> (None, node)."""
    if node_name is None:
        return None, None
    cluster, sep, node = node_name.partition("/")
    return (cluster or None, node or None) if sep else (None, node_name)


def _ns_name(v: Any) -> str | None:
    d = obj(v)
    name, ns = text(d.get("name")), text(d.get("namespace"))
    if name is None:
        return None
    return f"{ns}/{name}" if ns else name


# --- endpoints --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Endpoint:
    namespace: str | None
    pod_name: str | None
    labels: list[str] | None
    identity: int | None
    workload: tuple[str, str] | None  # (kind, name)
    cluster: str | None
    service_account: str | None


def _endpoint(v: Any) -> _Endpoint:
    d = obj(v)
    labels = texts(d.get("labels")) or None
    namespace = text(d.get("namespace"))
    sa = _label(labels, _SA_LABEL)
    return _Endpoint(
        namespace=namespace,
        pod_name=text(d.get("pod_name")),
        labels=labels,
        identity=integer(d.get("identity")),
        workload=_workload(d.get("workloads")),
        cluster=_named_cluster(text(d.get("cluster_name")) or _label(labels, _CLUSTER_LABEL)),
        service_account=f"{namespace}/{sa}" if sa and namespace else None,
    )


def _local(flow: dict[str, Any], src: _Endpoint, dst: _Endpoint) -> _Endpoint:
    """The endpoint on the observing node: the source of a connection going out (and the
    destination of its replies), the destination of one coming in. The other may be a remote
    endpoint of a cluster mesh, whose cluster is its own, not the flow's."""
    ingress = flow.get("traffic_direction") == "INGRESS"
    return dst if ingress != bool(_is_reply(flow)) else src


def _label(labels: list[str] | None, prefix: str) -> str | None:
    for label in labels or ():
        if label.startswith(prefix):
            return label[len(prefix) :] or None
    return None


def _named_cluster(name: str | None) -> str | None:
    return None if name == _UNNAMED_CLUSTER else name


def _workload(v: Any) -> tuple[str, str] | None:
    for w in v if isinstance(v, list) else ():
        kind, name = text(obj(w).get("kind")), text(obj(w).get("name"))
        if kind and name:
            return kind, name
    return None


def _workload_text(w: tuple[str, str] | None) -> str | None:
    return f"{w[0]}/{w[1]}" if w else None


# --- flows ------------------------------------------------------------------------------------


def _flow_event(flow: dict[str, Any], envelope: dict[str, Any]) -> Event:
    time, time_source = _flow_time(flow, envelope)
    node_name = text(envelope.get("node_name")) or text(flow.get("node_name"))
    node_cluster, node = _split_node(node_name)
    src, dst = _endpoint(flow.get("source")), _endpoint(flow.get("destination"))
    ip = obj(flow.get("IP"))
    protocol, l4 = _l4(flow.get("l4"))
    extra = _flow_extra(flow, l4, src, dst)
    fields: dict[str, Any] = {
        "time": time,
        "time_source": time_source,
        "node": node,
        "sensor_cluster": node_cluster or _local(flow, src, dst).cluster,
        "src_ip": text(ip.get("source")),
        "src_port": integer(l4.get("source_port")),
        "dst_ip": text(ip.get("destination")),
        "dst_port": integer(l4.get("destination_port")),
        "protocol": protocol,
        "verdict": _enum(flow.get("verdict")),
        "drop_reason": _enum(flow.get("drop_reason_desc")),
        "direction": _enum(flow.get("traffic_direction")),
        "is_reply": _is_reply(flow),
        **_endpoint_fields(src, dst),
        "dst_names": texts(flow.get("destination_names")) or None,
        "dst_service": _ns_name(flow.get("destination_service")),
    }
    l7 = obj(flow.get("l7"))
    headers = _headers(obj(l7.get("http")).get("headers"))
    fields.update(_l7_fields(l7, headers, extra))
    fields.update(_trace_fields(flow.get("trace_context"), headers))
    fields["id"] = _flow_id(flow, node_name, fields)
    summary = _built_summary(fields, extra, l7)
    if own := text(flow.get("Summary")):
        extra["hubble_summary"] = own
    return Event(source="hubble", format=FORMAT, summary=summary, extra=_json(extra), **fields)


def _flow_id(flow: dict[str, Any], node_name: str | None, f: dict[str, Any]) -> str:
    uuid = text(flow.get("uuid"))
    if uuid:
        return make_id("hubble", uuid)
    keys = ("time", "src_ip", "src_port", "dst_ip", "dst_port", "verdict", "is_reply")
    return make_id("hubble", node_name, *(f[k] for k in keys))


def _is_reply(flow: dict[str, Any]) -> bool | None:
    value = flow["is_reply"] if "is_reply" in flow else flow.get("reply")
    return value if isinstance(value, bool) else None


def _l4(v: Any) -> tuple[str | None, dict[str, Any]]:
    d = obj(v)
    for protocol in _L4:
        if protocol in d:
            return protocol, obj(d[protocol])
    return None, {}


def _endpoint_fields(src: _Endpoint, dst: _Endpoint) -> dict[str, Any]:
    return {
        "namespace": src.namespace,
        "pod_name": src.pod_name,
        "service_account": src.service_account,
        "workload_kind": src.workload[0] if src.workload else None,
        "workload_name": src.workload[1] if src.workload else None,
        "src_namespace": src.namespace,
        "src_pod_name": src.pod_name,
        "src_labels": src.labels,
        "src_identity": src.identity,
        "src_workload": _workload_text(src.workload),
        "dst_namespace": dst.namespace,
        "dst_pod_name": dst.pod_name,
        "dst_labels": dst.labels,
        "dst_identity": dst.identity,
        "dst_workload": _workload_text(dst.workload),
    }


def _flow_extra(flow: dict[str, Any], l4: dict[str, Any], src: _Endpoint, dst: _Endpoint) -> dict[str, Any]:
    """What Hubble says beyond the columns; only keys that carry a value."""
    flags = [name for name, on in obj(l4.get("flags")).items() if on is True]
    extra: dict[str, Any] = {
        "flow_type": text(flow.get("Type")),
        "observation_point": text(flow.get("trace_observation_point")),
        "interface": text(obj(flow.get("interface")).get("name")),
        "tcp_flags": flags or None,
        "icmp_type": integer(l4.get("type")),
        "icmp_code": integer(l4.get("code")),
        "src_service": _ns_name(flow.get("source_service")),
        "src_names": texts(flow.get("source_names")) or None,
        "src_cluster": src.cluster,
        "dst_cluster": dst.cluster,
        "dst_service_account": dst.service_account,
        "encrypted": obj(flow.get("IP")).get("encrypted") is True or None,
    }
    for key in _POLICY_KEYS:
        policies = flow.get(key)
        if isinstance(policies, list):
            extra[key] = [p for p in map(_ns_name, policies) if p]
    return {k: v for k, v in extra.items() if v is not None}


# --- L7 ---------------------------------------------------------------------------------------


def _l7_fields(l7: dict[str, Any], headers: dict[str, str], extra: dict[str, Any]) -> dict[str, Any]:
    """Kind and L7 columns; L7 details without a column go to `extra`."""
    for key, value in (("l7_type", text(l7.get("type"))), ("latency_ns", integer(l7.get("latency_ns")))):
        if value is not None:
            extra[key] = value
    if isinstance(l7.get("dns"), dict):
        return _dns_fields(l7["dns"], l7.get("type") == "RESPONSE", extra)
    if isinstance(l7.get("http"), dict):
        return _http_fields(l7["http"], headers, extra)
    return {"kind": "network_flow"}


def _dns_fields(dns: dict[str, Any], response: bool, extra: dict[str, Any]) -> dict[str, Any]:
    for key in ("qtypes", "rrtypes", "cnames"):
        if values := texts(dns.get(key)):
            extra[f"dns_{key}"] = values
    rcode = integer(dns.get("rcode"))
    return {
        "kind": "dns",
        "dns_query": text(dns.get("query")),
        "dns_ips": texts(dns.get("ips")) or None,
        # protojson omits zero values: a response without rcode is NOERROR.
        "dns_rcode": rcode if rcode is not None or not response else 0,
        "dns_ttl": integer(dns.get("ttl")),
    }


def _http_fields(http: dict[str, Any], headers: dict[str, str], extra: dict[str, Any]) -> dict[str, Any]:
    if protocol := text(http.get("protocol")):
        extra["http_protocol"] = protocol
    kept = {k: v for k, v in headers.items() if k.lower() not in _SENSITIVE_HEADERS}
    if kept:
        extra["http_headers"] = kept
    return {
        "kind": "http",
        "http_method": text(http.get("method")),
        "http_url": text(http.get("url")),
        "http_code": integer(http.get("code")) or None,
    }


def _headers(v: Any) -> dict[str, str]:
    """Hubble's `[{"key", "value"}]` as a map; repeated headers are joined with ', '."""
    out: dict[str, str] = {}
    for h in v if isinstance(v, list) else ():
        key, value = obj(h).get("key"), obj(h).get("value")
        if isinstance(key, str) and isinstance(value, str):
            out[key] = f"{out[key]}, {value}" if key in out else value
    return out


# --- trace context ----------------------------------------------------------------------------


def _trace_fields(trace_context: Any, headers: dict[str, str]) -> dict[str, Any]:
    """trace_id from Hubble's own `trace_context`, else from the headers; span ids from the
    headers (the caller's span) when they belong to that trace."""
    own = _hex_id(obj(obj(trace_context).get("parent")).get("trace_id"), 32)
    lowered = {k.lower(): v for k, v in headers.items()}
    ids = (_traceparent(lowered.get("traceparent")) or _b3(lowered)) if lowered else None
    if ids is None or own not in (None, ids[0]):
        return {"trace_id": own} if own else {}
    return {"trace_id": ids[0], "span_id": ids[1], "parent_span_id": ids[2]}


def _traceparent(value: str | None) -> tuple[str, str, None] | None:
    m = _TRACEPARENT.fullmatch(value.strip().lower()) if value else None
    if m is None or _hex_id(m.group(1), 32) is None or _hex_id(m.group(2), 16) is None:
        return None
    return m.group(1), m.group(2), None


def _b3(headers: dict[str, str]) -> tuple[str, str | None, str | None] | None:
    """Single `b3: {trace}-{span}[-{sampled}[-{parent}]]` header, else the `X-B3-*` headers."""
    single = headers.get("b3", "").split("-")
    if len(single) >= 2:
        return _b3_ids(single[0], single[1], single[3] if len(single) > 3 else None)
    return _b3_ids(headers.get("x-b3-traceid"), headers.get("x-b3-spanid"), headers.get("x-b3-parentspanid"))


def _b3_ids(trace: str | None, span: str | None, parent: str | None) -> tuple[str, str | None, str | None] | None:
    trace_id = _hex_id(trace, 32)
    return None if trace_id is None else (trace_id, _hex_id(span, 16), _hex_id(parent, 16))


def _hex_id(value: Any, length: int) -> str | None:
    """Lowercase hex id of `length` digits; 64-bit trace ids are left-padded; all zeros is no id."""
    if not isinstance(value, str):
        return None
    v = value.strip().lower()
    if length == 32 and len(v) == 16:
        v = v.rjust(32, "0")
    if len(v) != length or not _HEX.fullmatch(v) or not v.strip("0"):
        return None
    return v


# --- summaries and non-flow records -----------------------------------------------------------


def _built_summary(f: dict[str, Any], extra: dict[str, Any], l7: dict[str, Any]) -> str:
    """'TCP shop/cart-6d4f (10.244.1.5:40321) -> pool.example.net (198.51.100.23:3333) FORWARDED [SYN]':
    the drop reason or the L7 gist after a colon, the TCP flags or the ICMP message in brackets."""
    src = _addr(f["src_namespace"], f["src_pod_name"], extra.get("src_names"), f["src_ip"], f["src_port"])
    dst = _addr(f["dst_namespace"], f["dst_pod_name"], f["dst_names"], f["dst_ip"], f["dst_port"])
    protocol, verdict, drop = f["protocol"], f["verdict"], f["drop_reason"]
    line = f"{protocol or 'IP'} {src} -> {dst} {verdict}" if verdict else f"{protocol or 'IP'} {src} -> {dst}"
    gist = _l7_gist(f, extra, l7) if l7 else None
    if drop or gist:
        line += f": {drop}; {gist}" if drop and gist else f": {drop or gist}"
    if "tcp_flags" in extra:
        return f"{line} [{', '.join(extra['tcp_flags'])}]"
    icmp = _icmp_gist(protocol, extra) if protocol in _ICMP else None
    return f"{line} [{icmp}]" if icmp else line


def _addr(namespace: str | None, pod: str | None, names: list[str] | None, ip: str | None, port: int | None) -> str:
    where = f"{ip}:{port}" if ip and port else ip or "?"
    if pod:
        return f"{namespace}/{pod} ({where})" if namespace else f"{pod} ({where})"
    return f"{names[0]} ({where})" if names else where


def _l7_gist(f: dict[str, Any], extra: dict[str, Any], l7: dict[str, Any]) -> str | None:
    """'DNS query pool.example.net. A', 'DNS answer ... 203.0.113.7', 'HTTP GET url', 'HTTP 503 GET url in 12ms'."""
    response = extra.get("l7_type") == "RESPONSE"
    if f["kind"] == "dns":
        what = " ".join([f["dns_query"] or "?", *extra.get("dns_qtypes", ())])
        if not response:
            return f"DNS query {what}"
        rcode = f["dns_rcode"]
        answer = " ".join(f["dns_ips"] or ()) if not rcode else _RCODES.get(rcode, f"rcode {rcode}")
        return f"DNS answer {what} {answer}".rstrip()
    if f["kind"] == "http":
        request = " ".join(p for p in (f["http_method"], f["http_url"]) if p)
        if not response:
            return f"HTTP {request}".rstrip()
        latency = extra.get("latency_ns")
        took = f" in {latency // 1_000_000}ms" if latency else ""
        return " ".join(p for p in ("HTTP", str(f["http_code"] or ""), request) if p) + took
    kafka = obj(l7.get("kafka"))
    if kafka:
        return " ".join(p for p in ("Kafka", text(kafka.get("api_key")), text(kafka.get("topic"))) if p)
    return None


def _icmp_gist(protocol: str, extra: dict[str, Any]) -> str:
    """The ICMP message (protojson leaves out type 0, an IPv4 echo reply)."""
    kind = extra.get("icmp_type", 0)
    name = _ICMP[protocol].get(kind, f"type {kind}")
    code = extra.get("icmp_code")
    return f"{name} code {code}" if code else name


_RCODES: Final = {1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
_ICMP4: Final = {0: "EchoReply", 3: "DestinationUnreachable", 5: "Redirect", 8: "EchoRequest", 11: "TimeExceeded"}
_ICMP6: Final = {
    1: "DestinationUnreachable",
    2: "PacketTooBig",
    3: "TimeExceeded",
    128: "EchoRequest",
    129: "EchoReply",
    133: "RouterSolicitation",
    134: "RouterAdvertisement",
    135: "NeighborSolicitation",
    136: "NeighborAdvertisement",
}
_ICMP: Final = {"ICMPv4": _ICMP4, "ICMPv6": _ICMP6}


def _stats_event(key: str, payload: dict[str, Any], envelope: dict[str, Any]) -> Event:
    time = _time(envelope.get("time"))
    node_name = text(envelope.get("node_name"))
    cluster, node = _split_node(node_name)
    # protojson omits a zero count; only lost_events carry one.
    lost = (integer(payload.get("num_events_lost")) or 0) if key == "lost_events" else None
    return Event(
        id=make_id("hubble", key, node_name, time, _json(payload)),
        time=time,
        source="hubble",
        kind="sensor_stats",
        format=FORMAT,
        summary=_stats_summary(key, payload, lost),
        sensor_cluster=cluster,
        node=node,
        sensor_source=key,
        drop_count=lost,
        extra=_json({key: payload}),
    )


def _stats_summary(key: str, payload: dict[str, Any], lost: int | None) -> str:
    if lost is not None:
        return f"Hubble lost {lost} events ({payload.get('source') or 'unknown source'})"
    detail = payload.get("state_change") or payload.get("type") or ""
    names = ", ".join(texts(payload.get("node_names")))
    message = text(payload.get("message"))
    return " ".join(str(p) for p in (f"Hubble {key.replace('_', ' ')}", detail, names, message) if p)


def _json(d: dict[str, Any]) -> str | None:
    return orjson.dumps(d, option=orjson.OPT_SORT_KEYS).decode() if d else None


def may_hold_secrets(value: Any) -> bool:
    """Only L7 flows carry headers (Authorization, Cookie) or payloads: an L3/L4 flow in its
    exporter wrapper holds addresses, ports, endpoints, labels and a verdict. Any other shape,
    or a wrapper with keys beyond these, is scanned."""
    flow = value.get("flow") if isinstance(value, dict) else None
    if not isinstance(flow, dict) or not value.keys() <= _WRAPPER_KEYS:
        return True
    return "l7" in flow or "extensions" in flow


_WRAPPER_KEYS: Final = frozenset({"flow", "node_name", "time"})

SOURCE = Source(name="hubble", detect=detect, normalize=normalize, order=40, may_hold_secrets=may_hold_secrets)
