"""OpenTelemetry: OTLP traces and logs (`ExportTraceServiceRequest`, `ExportLogsServiceRequest`),
as OTLP/JSON and as OTLP/HTTP protobuf bodies.

One request holds many spans or log records: each becomes one `span` or `log` event, and its `raw`
is a one-item OTLP/JSON request (the item with its resource and scope), so an exported record can
be ingested again. OTLP/JSON uses lowerCamelCase keys; the proto3 JSON mapping also allows the
proto names (`resource_spans`, `trace_id`), so both are read. Protobuf bodies are converted to
the OTLP/JSON shape (ids as hex, 64-bit integers as strings) before `normalize` sees them.

Every attribute (resource, scope, span or record) is kept in `extra`, decoded to plain JSON; the
Kubernetes resource attributes and the HTTP, network and end-user span attributes of the semantic
conventions (current and older names) also fill their columns.

Older OTLP is read too: `instrumentationLibrarySpans`/`instrumentationLibraryLogs` with their
`instrumentationLibrary` (before v0.15), log records under `logs` (before v0.12), trace and span
ids in base64 (the plain proto3 JSON mapping, before OTLP/JSON settled on hex), and a status
whose error is only in `deprecatedCode` (v0.6 to v0.11). Times (`time_source` names any fallback): a span's `startTimeUnixNano`,
else its `endTimeUnixNano`; a log record's `timeUnixNano`, else `observedTimeUnixNano` (which the
data model says to use when the other is absent). proto3 leaves out zeros, so a 0 is no time.
"""

from __future__ import annotations

import base64
import ipaddress
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache, partial
from typing import Any, Final

import orjson

from kubetrail.ids import container_id, make_id
from kubetrail.model import Event
from kubetrail.sources import NormalizeError, Source
from kubetrail.sources._json import integer, obj, text

FORMAT: Final = "otlp"
_TOP_KEYS: Final = ("resourceSpans", "resource_spans", "resourceLogs", "resource_logs")
_CAMEL_NAMES: Final = (
    *("resourceSpans", "resourceLogs", "scopeSpans", "scopeLogs", "logRecords"),
    *("traceId", "spanId", "parentSpanId", "traceState", "startTimeUnixNano", "endTimeUnixNano"),
    *("timeUnixNano", "observedTimeUnixNano", "severityText", "severityNumber", "eventName"),
    *("stringValue", "boolValue", "intValue", "doubleValue", "bytesValue", "arrayValue", "kvlistValue"),
    *("instrumentationLibrarySpans", "instrumentationLibraryLogs", "instrumentationLibrary", "deprecatedCode"),
)
# lowerCamelCase -> the proto field name, which the proto3 JSON mapping also accepts.
_SNAKE: Final = {name: re.sub(r"[A-Z]", lambda m: "_" + m.group().lower(), name) for name in _CAMEL_NAMES}
_HEX: Final = re.compile(r"[0-9a-f]+")
# Length of an id in base64 (the proto3 JSON mapping of bytes), by its length in hex digits.
_BASE64_LENGTH: Final = {32: 24, 16: 12}
_SPAN_KINDS: Final = ("", "internal", "server", "client", "producer", "consumer")
_STATUS_CODES: Final = ("UNSET", "OK", "ERROR")
_SEVERITIES: Final = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
_WORKLOAD_ATTRS: Final = (
    ("Deployment", "k8s.deployment.name"),
    ("StatefulSet", "k8s.statefulset.name"),
    ("DaemonSet", "k8s.daemonset.name"),
    ("CronJob", "k8s.cronjob.name"),
    ("Job", "k8s.job.name"),
    ("ReplicaSet", "k8s.replicaset.name"),
)
# Resource attributes that tell one log producer from another (part of a log record's id).
_RESOURCE_IDENTITY: Final = (
    "service.namespace",
    "service.name",
    "service.instance.id",
    "k8s.cluster.name",
    "k8s.namespace.name",
    "k8s.pod.name",
    "k8s.pod.uid",
    "k8s.container.name",
    "container.id",
    "host.name",
)
# Span attribute -> column, first present name wins (current semantic conventions first).
_HTTP_CODE: Final = ("http.response.status_code", "http.status_code")
_SPAN_TEXT_ATTRS: Final = {
    "http_method": ("http.request.method", "http.method"),
    "http_url": ("url.full", "http.url"),
    "http_route": ("http.route",),
    "enduser_id": ("enduser.id", "user.id"),
    "user_agent": ("user_agent.original", "http.user_agent"),
}
# (address, port) attribute pairs, current semantic conventions first. A span's source and
# destination depend on the side it was recorded on: a server sees its client as the peer.
_PEER: Final = (
    ("network.peer.address", "network.peer.port"),
    ("net.sock.peer.addr", "net.sock.peer.port"),
    ("net.peer.ip", "net.peer.port"),
)
_LOCAL: Final = (
    ("network.local.address", "network.local.port"),
    ("net.sock.host.addr", "net.sock.host.port"),
    ("net.host.ip", "net.host.port"),
)
_CLIENT: Final = (("client.address", "client.port"),)
_SERVER: Final = (("server.address", "server.port"),)
_ENDPOINTS: Final = {"receiver": (_CLIENT + _PEER, _LOCAL + _SERVER), "sender": (_LOCAL, _PEER + _SERVER)}


def detect(value: Any) -> bool:
    return isinstance(value, dict) and any(isinstance(value.get(k), list) for k in _TOP_KEYS)


def normalize(value: Any) -> list[Event]:
    if not isinstance(value, dict):
        raise NormalizeError("not an OTLP request: expected a JSON object")
    return [signal.build(item, at) for signal in _SIGNALS for item, at in _items(value, signal)]


# --- small readers of JSON values -------------------------------------------------------------


def _get(d: dict[str, Any], camel: str) -> Any:
    value = d.get(camel)
    return value if value is not None else d.get(_SNAKE[camel])


def _nanos(v: Any) -> int | None:
    """A `*UnixNano` value (a string in JSON, 64-bit); 0 means unset."""
    n = integer(v)
    return n if n else None


def _hex_id(v: Any, digits: int) -> str | None:
    """A trace (32 digits) or span (16 digits) id as lowercase hex (or base64, as older OTLP/JSON
    wrote it); all zeros means none."""
    if not isinstance(v, str):
        return None
    if len(v) != digits:
        return _base64_id(v, digits) if len(v) == _BASE64_LENGTH[digits] else None
    h = v.lower()
    return h if _HEX.fullmatch(h) and h.strip("0") else None


def _base64_id(v: str, digits: int) -> str | None:
    try:
        raw = base64.b64decode(v, validate=True)
    except ValueError:
        return None
    h = raw.hex()
    return h if len(h) == digits and h.strip("0") else None


def _json(d: dict[str, Any]) -> str | None:
    kept = {k: v for k, v in d.items() if v not in (None, {}, [], "")}
    return orjson.dumps(kept).decode() if kept else None


# --- AnyValue and attributes ------------------------------------------------------------------


def _any(v: Any) -> Any:
    """An OTLP AnyValue as plain JSON (intValue strings become ints; bytesValue stays base64)."""
    if not isinstance(v, dict):
        return None
    for camel, read in _ANY_READERS:
        if camel in v or _SNAKE[camel] in v:
            return read(_get(v, camel))
    return None


def _values(v: Any) -> list[Any]:
    values = obj(v).get("values")
    return values if isinstance(values, list) else []


def _attributes(v: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in v if isinstance(v, list) else ():
        key = obj(kv).get("key")
        if isinstance(key, str):
            out[key] = _any(kv.get("value"))
    return out


_ANY_READERS: Final[tuple[tuple[str, Callable[[Any], Any]], ...]] = (
    ("stringValue", lambda x: x),
    ("boolValue", lambda x: x),
    ("intValue", integer),
    ("doubleValue", lambda x: x),
    ("bytesValue", lambda x: x),
    ("arrayValue", lambda x: [_any(i) for i in _values(x)]),
    ("kvlistValue", lambda x: _attributes(_values(x))),
)


def _first(attrs: dict[str, Any], names: tuple[str, ...]) -> Any:
    return next((attrs[n] for n in names if attrs.get(n) is not None), None)


def _first_str(attrs: dict[str, Any], names: tuple[str, ...]) -> str | None:
    value = _first(attrs, names)
    return value if isinstance(value, str) else None


def _ip(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


# --- walking a request ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Resource:
    attrs: dict[str, Any]
    columns: dict[str, Any]  # Event columns read from resource attributes
    identity: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class _At:
    """Where an item sits: its path (for error messages), resource, scope, and its own request."""

    path: str
    resource: _Resource
    scope: dict[str, Any]
    raw: str


@dataclass(frozen=True, slots=True)
class _Signal:
    resources: str  # lowerCamelCase key names
    scopes: tuple[str, ...]  # the current name first, then older ones
    items: tuple[str, ...]
    build: Callable[[dict[str, Any], _At], Event]


def _list_at(d: dict[str, Any], names: tuple[str, ...], where: str) -> tuple[str, list[Any]]:
    """The list under the first of these names (camelCase or snake_case) that is present."""
    for camel in names:
        key = camel if camel in d else _SNAKE.get(camel, camel)
        value = d.get(key)
        if value is None:
            continue
        if not isinstance(value, list):
            raise NormalizeError(f"{where}{key}: expected a list")
        return key, value
    return names[0], []


def _object(v: Any, path: str) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise NormalizeError(f"{path}: expected a JSON object")
    return v


def _items(request: dict[str, Any], signal: _Signal) -> Iterator[tuple[dict[str, Any], _At]]:
    rkey, groups = _list_at(request, (signal.resources,), "")
    for i, value in enumerate(groups):
        path = f"{rkey}[{i}]"
        group = _object(value, path)
        resource = _resource(group.get("resource"))
        skey, scopes = _list_at(group, signal.scopes, f"{path}.")
        wrap = partial(_one_item_request, rkey, skey, group)
        for j, scope_group in enumerate(scopes):
            scope_path = f"{path}.{skey}[{j}]"
            yield from _scope_items(_object(scope_group, scope_path), scope_path, signal, resource, wrap)


def _scope_items(
    scope_group: dict[str, Any], path: str, signal: _Signal, resource: _Resource, wrap: Callable[[dict[str, Any]], str]
) -> Iterator[tuple[dict[str, Any], _At]]:
    scope_key = "scope" if "scope" in scope_group else _scope_key(scope_group)
    scope = _scope(scope_group.get(scope_key))
    ikey, items = _list_at(scope_group, signal.items, f"{path}.")
    for n, item in enumerate(items):
        item_path = f"{path}.{ikey}[{n}]"
        raw = wrap({**_present(scope_key, scope_group), ikey: [item]})
        yield _object(item, item_path), _At(item_path, resource, scope, raw)


def _one_item_request(rkey: str, skey: str, group: dict[str, Any], scope_group: dict[str, Any]) -> str:
    """The `raw` of one span or record: a request holding only it, with its resource and scope."""
    return orjson.dumps({rkey: [{**_present("resource", group), skey: [scope_group]}]}).decode()


def _scope_key(scope_group: dict[str, Any]) -> str:
    """Where an older request keeps its scope: `instrumentationLibrary` (before OTLP v0.15)."""
    for key in ("instrumentationLibrary", "instrumentation_library"):
        if key in scope_group:
            return key
    return "scope"


def _present(key: str, d: dict[str, Any]) -> dict[str, Any]:
    return {key: d[key]} if d.get(key) is not None else {}


def _scope(v: Any) -> dict[str, Any]:
    d = obj(v)
    scope = {"name": text(d.get("name")), "version": text(d.get("version")), "attributes": _attributes(d.get("attributes"))}
    return {k: v for k, v in scope.items() if v}


def _resource(v: Any) -> _Resource:
    attrs = _attributes(obj(v).get("attributes"))
    workload = next(((kind, attrs[key]) for kind, key in _WORKLOAD_ATTRS if isinstance(attrs.get(key), str)), (None, None))
    columns = {
        "service_name": _first_str(attrs, ("service.name",)),
        "sensor_cluster": _first_str(attrs, ("k8s.cluster.name",)),
        "node": _first_str(attrs, ("k8s.node.name",)),
        "namespace": _first_str(attrs, ("k8s.namespace.name",)),
        "pod_name": _first_str(attrs, ("k8s.pod.name",)),
        "pod_uid": _first_str(attrs, ("k8s.pod.uid",)),
        "container_name": _first_str(attrs, ("k8s.container.name",)),
        "container_id": container_id(_first_str(attrs, ("container.id",))),
        "image": _image(attrs),
        "workload_kind": workload[0],
        "workload_name": workload[1],
    }
    return _Resource(attrs, columns, tuple(attrs.get(k) for k in _RESOURCE_IDENTITY))


def _image(attrs: dict[str, Any]) -> str | None:
    name = _first_str(attrs, ("container.image.name",))
    tag = attrs.get("container.image.tag")
    if tag is None and isinstance(tags := attrs.get("container.image.tags"), list) and tags:
        tag = tags[0]
    return f"{name}:{tag}" if name and isinstance(tag, str) and tag else name


# --- spans ------------------------------------------------------------------------------------


def _span_event(span: dict[str, Any], at: _At) -> Event:
    trace_id, span_id = _hex_id(_get(span, "traceId"), 32), _hex_id(_get(span, "spanId"), 16)
    if trace_id is None or span_id is None:
        raise NormalizeError(f"{at.path}: a span needs a traceId of 32 and a spanId of 16 hex digits")
    start, end = _nanos(_get(span, "startTimeUnixNano")), _nanos(_get(span, "endTimeUnixNano"))
    time_source = None
    if start is None:
        if end is None:
            raise NormalizeError(f"{at.path}: span has neither startTimeUnixNano nor endTimeUnixNano")
        start, time_source = end, "endTimeUnixNano"
    attrs = _attributes(span.get("attributes"))
    kind = _span_kind(span.get("kind"))
    status = obj(span.get("status"))
    code = _status(status)
    columns = {**at.resource.columns, **_span_columns(attrs, kind)}
    return Event(
        id=make_id("otel", trace_id, span_id),
        time=start,
        end_time=end,
        source="otel",
        kind="span",
        format=FORMAT,
        time_source=time_source,
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=_hex_id(_get(span, "parentSpanId"), 16),
        span_name=text(span.get("name")),
        span_kind=kind,
        status=code,
        summary=_span_summary(span, columns, kind, code),
        extra=_span_extra(span, at, attrs, status),
        raw=at.raw,
        **columns,
    )


def _span_columns(attrs: dict[str, Any], kind: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {column: _first_str(attrs, names) for column, names in _SPAN_TEXT_ATTRS.items()}
    out["http_url"] = out["http_url"] or _path_url(attrs)
    out["http_code"] = integer(_first(attrs, _HTTP_CODE))
    src, dst = _ENDPOINTS["sender" if kind in ("client", "producer") else "receiver"]
    out["src_ip"], out["src_port"] = _endpoint(attrs, src)
    out["dst_ip"], out["dst_port"] = _endpoint(attrs, dst)
    return out


def _endpoint(attrs: dict[str, Any], pairs: tuple[tuple[str, str], ...]) -> tuple[str | None, int | None]:
    """The first (address, port) pair whose address is an IP; else no address and the first port."""
    for address, port in pairs:
        if ip := _ip(attrs.get(address)):
            return ip, integer(attrs.get(port))
    return None, next((p for _, port in pairs if (p := integer(attrs.get(port))) is not None), None)


def _path_url(attrs: dict[str, Any]) -> str | None:
    path, query = attrs.get("url.path"), attrs.get("url.query")
    if isinstance(path, str):
        return f"{path}?{query}" if isinstance(query, str) and query else path
    target = attrs.get("http.target")
    return target if isinstance(target, str) else None


def _span_kind(v: Any) -> str | None:
    if isinstance(v, str) and v.startswith("SPAN_KIND_"):
        name = v.removeprefix("SPAN_KIND_").lower()
        return name if name in _SPAN_KINDS[1:] else None
    n = integer(v)
    if n is None or not 0 < n < len(_SPAN_KINDS):
        return None
    return _SPAN_KINDS[n]


def _span_name(span: dict[str, Any]) -> str:
    name = text(span.get("name"))
    return f"span {name}" if name else "span"


def _status(status: dict[str, Any]) -> str:
    """OTLP status code; absent means UNSET (proto3 omits the zero value). OTLP v0.6 to v0.11
    also had `deprecatedCode`: with `code` unset, any value of it but OK means an error."""
    v = status.get("code")
    if isinstance(v, str) and v.startswith("STATUS_CODE_") and v != "STATUS_CODE_UNSET":
        return v.removeprefix("STATUS_CODE_")
    n = integer(v)
    if n is not None and 0 < n < len(_STATUS_CODES):
        return _STATUS_CODES[n]
    old = _get(status, "deprecatedCode")
    return "ERROR" if old is not None and old not in (0, "0", "DEPRECATED_STATUS_CODE_OK") else "UNSET"


def _span_summary(span: dict[str, Any], c: dict[str, Any], kind: str | None, status: str) -> str:
    what = f"{c['http_method']} {c['http_route'] or c['http_url'] or ''}".rstrip() if c["http_method"] else None
    line = f"{c['service_name'] or 'unknown service'}: {kind or 'unspecified'} {what or _span_name(span)}"
    if c["http_code"] is not None:
        line += f" -> {c['http_code']}"
    return f"{line} {status}" if status == "ERROR" else line


def _span_extra(span: dict[str, Any], at: _At, attrs: dict[str, Any], status: dict[str, Any]) -> str | None:
    return _json(
        {
            "resource": at.resource.attrs,
            "scope": at.scope,
            "attributes": attrs,
            "status_message": text(status.get("message")),
            "trace_state": text(_get(span, "traceState")),
            "events": [_span_event_extra(e) for e in span.get("events") or () if isinstance(e, dict)],
            "links": [_link_extra(link) for link in span.get("links") or () if isinstance(link, dict)],
        }
    )


def _span_event_extra(e: dict[str, Any]) -> dict[str, Any]:
    return {"name": e.get("name"), "time": _nanos(_get(e, "timeUnixNano")), "attributes": _attributes(e.get("attributes"))}


def _link_extra(link: dict[str, Any]) -> dict[str, Any]:
    return {
        "trace_id": _hex_id(_get(link, "traceId"), 32),
        "span_id": _hex_id(_get(link, "spanId"), 16),
        "attributes": _attributes(link.get("attributes")),
    }


# --- log records ------------------------------------------------------------------------------


def _log_event(record: dict[str, Any], at: _At) -> Event:
    time, time_source = _nanos(_get(record, "timeUnixNano")), None
    if time is None:
        time, time_source = _nanos(_get(record, "observedTimeUnixNano")), "observedTimeUnixNano"
    if time is None:
        raise NormalizeError(f"{at.path}: log record has no timeUnixNano or observedTimeUnixNano")
    trace_id, span_id = _hex_id(_get(record, "traceId"), 32), _hex_id(_get(record, "spanId"), 16)
    body = _any(record.get("body"))
    body_text = body if isinstance(body, str) or body is None else orjson.dumps(body).decode()
    columns = dict(at.resource.columns)
    return Event(
        id=make_id("otel", "log", *at.resource.identity, time, trace_id, span_id, body_text),
        time=time,
        source="otel",
        kind="log",
        format=FORMAT,
        time_source=time_source,
        trace_id=trace_id,
        span_id=span_id,
        priority=_severity(_get(record, "severityText"), _get(record, "severityNumber")),
        summary=body_text if body_text is not None else text(_get(record, "eventName")) or text(record.get("name")),
        extra=_log_extra(record, at, body),
        raw=at.raw,
        **columns,
    )


def _severity(text: Any, number: Any) -> str | None:
    """severityText, else the short name of severityNumber (1-4 TRACE ... 21-24 FATAL)."""
    if isinstance(text, str) and text:
        return text
    if isinstance(number, str) and number.startswith("SEVERITY_NUMBER_"):
        number = number.removeprefix("SEVERITY_NUMBER_")
        return None if number == "UNSPECIFIED" else number
    n = integer(number)
    return _SEVERITIES[(n - 1) // 4] if n is not None and 1 <= n <= 24 else None


def _log_extra(record: dict[str, Any], at: _At, body: Any) -> str | None:
    return _json(
        {
            "resource": at.resource.attrs,
            "scope": at.scope,
            "attributes": _attributes(record.get("attributes")),
            "severity_number": integer(_get(record, "severityNumber")),
            "observed_time": _nanos(_get(record, "observedTimeUnixNano")),
            "event_name": text(_get(record, "eventName")),
            "body": None if isinstance(body, str) else body,
        }
    )


_SIGNALS: Final = (
    _Signal("resourceSpans", ("scopeSpans", "instrumentationLibrarySpans"), ("spans",), _span_event),
    _Signal("resourceLogs", ("scopeLogs", "instrumentationLibraryLogs"), ("logRecords", "logs"), _log_event),
)


# --- OTLP/HTTP protobuf -----------------------------------------------------------------------


def decode_bytes(data: bytes) -> dict[str, Any] | None:
    """An OTLP/HTTP protobuf body as the OTLP/JSON value `normalize` takes; None when the bytes
    are not a non-empty OTLP request (protobuf reads many byte strings without complaint, so a
    request must hold spans with ids of the right length, or log records with a time)."""
    traces, logs = _messages()
    return _decode(data, traces, _plausible_traces, _hex_traces) or _decode(data, logs, _plausible_logs, _hex_logs)


class OTLPError(ValueError):
    """An OTLP/HTTP protobuf body that cannot be read as the request it was sent as."""


def request_as_json(data: bytes, signal: str) -> dict[str, Any]:
    """An OTLP/HTTP protobuf body of a known signal ("traces" or "logs", from the path it was sent
    to) as OTLP/JSON; an empty request is an empty object. Unlike `decode_bytes`, which guesses,
    this reads what the sender said it sent, and says why it cannot."""
    from google.protobuf.json_format import MessageToDict
    from google.protobuf.message import DecodeError

    traces, logs = _messages()
    request = (traces if signal == "traces" else logs)()
    try:
        request.ParseFromString(data)
    except DecodeError as exc:
        raise OTLPError(
            f"OTLP {signal}: not a protobuf Export{'Trace' if signal == 'traces' else 'Logs'}ServiceRequest: {exc}"
        ) from exc
    value: dict[str, Any] = MessageToDict(request, use_integers_for_enums=True)
    (_hex_traces if signal == "traces" else _hex_logs)(value)
    return value


@cache
def _messages() -> tuple[type[Any], type[Any]]:
    # Imported on first use: most ingests never see protobuf.
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    return ExportTraceServiceRequest, ExportLogsServiceRequest


def _decode(
    data: bytes, message: type[Any], plausible: Callable[[Any], bool], to_hex: Callable[[dict[str, Any]], None]
) -> dict[str, Any] | None:
    from google.protobuf.json_format import MessageToDict
    from google.protobuf.message import DecodeError

    request = message()
    try:
        request.ParseFromString(data)
    except DecodeError:
        return None
    if not plausible(request):
        return None
    value: dict[str, Any] = MessageToDict(request, use_integers_for_enums=True)
    to_hex(value)
    return value


def _plausible_traces(request: Any) -> bool:
    spans = [s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]
    return bool(spans) and all(len(s.trace_id) == 16 and len(s.span_id) == 8 and len(s.parent_span_id) in (0, 8) for s in spans)


def _plausible_logs(request: Any) -> bool:
    records = [r for rl in request.resource_logs for sl in rl.scope_logs for r in sl.log_records]
    return bool(records) and all(
        len(r.trace_id) in (0, 16) and len(r.span_id) in (0, 8) and (r.time_unix_nano or r.observed_time_unix_nano)
        for r in records
    )


def _hex_traces(value: dict[str, Any]) -> None:
    for span in _nested(value, "resourceSpans", "scopeSpans", "spans"):
        _base64_to_hex(span, ("traceId", "spanId", "parentSpanId"))
        for link in span.get("links", ()):
            _base64_to_hex(link, ("traceId", "spanId"))


def _hex_logs(value: dict[str, Any]) -> None:
    for record in _nested(value, "resourceLogs", "scopeLogs", "logRecords"):
        _base64_to_hex(record, ("traceId", "spanId"))


def _nested(value: dict[str, Any], outer: str, middle: str, inner: str) -> Iterator[dict[str, Any]]:
    for group in value.get(outer, ()):
        for scope in group.get(middle, ()):
            yield from scope.get(inner, ())


def _base64_to_hex(d: dict[str, Any], keys: tuple[str, ...]) -> None:
    """The proto3 JSON mapping writes bytes as base64; OTLP/JSON writes trace and span ids as hex."""
    for key in keys:
        if key in d:
            d[key] = base64.b64decode(d[key]).hex()


SOURCE = Source(name="otel", detect=detect, normalize=normalize, order=50, decode_bytes=decode_bytes)
